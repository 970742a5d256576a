//! Spark's memory sizes (`spark.executor.memory`, `memoryOverhead`), as the wire carries them.

/// Parses a JVM memory size (`512m`, `8g`, `1024`, `2gb`) into MiB; no suffix means MiB,
/// as for Spark's memory keys.
pub fn memory_mib(value: &str) -> Option<u64> {
    let v = value.trim().to_ascii_lowercase();
    let digits_end = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (number, unit) = v.split_at(digits_end);
    let number: u64 = number.parse().ok()?;
    let kib = match unit.trim_end_matches('b') {
        "" if unit.is_empty() => return Some(number),
        "" => return Some(number / (1024 * 1024)),
        "k" => number,
        "m" => return Some(number),
        "g" => return number.checked_mul(1024),
        "t" => return number.checked_mul(1024 * 1024),
        "p" => return number.checked_mul(1024 * 1024 * 1024),
        _ => return None,
    };
    Some(kib / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn memory_sizes() {
        assert_eq!(memory_mib("512m"), Some(512));
        assert_eq!(memory_mib("8g"), Some(8192));
        assert_eq!(memory_mib("2GB"), Some(2048));
        assert_eq!(memory_mib("1024"), Some(1024));
        assert_eq!(memory_mib("2048k"), Some(2));
        assert_eq!(memory_mib("lots"), None);
        assert_eq!(memory_mib("5x"), None);
    }
}
