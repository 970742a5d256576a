//! The division rule of `docs/PROTOCOL.md`, used for every ratio on the wire.

/// `a/b = 0` if `a = 0`; `1` if `b = 0` (and `a ≠ 0`); else `a/b`.
pub fn ratio(a: f64, b: f64) -> f64 {
    if a == 0.0 {
        0.0
    } else if b == 0.0 {
        1.0
    } else {
        a / b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_rule() {
        assert_eq!(ratio(0.0, 0.0), 0.0);
        assert_eq!(ratio(0.0, 5.0), 0.0);
        assert_eq!(ratio(3.0, 0.0), 1.0);
        assert_eq!(ratio(3.0, 4.0), 0.75);
    }
}
