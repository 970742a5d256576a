//! Log records are buffered in memory for the host to drain (the JVM shim forwards them to
//! slf4j). Nothing is written to stderr. The buffer is bounded: when the host does not drain,
//! the oldest records are dropped and counted.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use log::{Level, LevelFilter, Log, Metadata, Record};
use once_cell::sync::Lazy;
use parking_lot::Mutex;

const CAPACITY: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub level: Level,
    pub target: String,
    pub message: String,
    pub time_ms: i64,
}

struct BufferLogger {
    records: Mutex<VecDeque<LogRecord>>,
    dropped: AtomicU64,
}

static LOGGER: Lazy<BufferLogger> = Lazy::new(|| BufferLogger {
    records: Mutex::new(VecDeque::new()),
    dropped: AtomicU64::new(0),
});

impl Log for BufferLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let entry = LogRecord {
            level: record.level(),
            target: record.target().to_string(),
            message: record.args().to_string(),
            time_ms: now_ms(),
        };
        let mut records = self.records.lock();
        if records.len() >= CAPACITY {
            records.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        records.push_back(entry);
    }

    fn flush(&self) {}
}

/// Installs the buffering logger as the process's `log` logger, if no other logger is
/// installed (an embedding Rust program may have its own; records then go there).
pub fn install(level: LevelFilter) {
    if log::set_logger(&*LOGGER).is_ok() || is_installed() {
        log::set_max_level(level);
    }
}

fn is_installed() -> bool {
    std::ptr::eq(
        log::logger() as *const dyn Log as *const (),
        &*LOGGER as *const BufferLogger as *const (),
    )
}

/// Takes up to `max` buffered records, oldest first.
pub fn drain(max: usize) -> Vec<LogRecord> {
    let mut records = LOGGER.records.lock();
    let n = max.min(records.len());
    records.drain(..n).collect()
}

/// Records dropped because the buffer was full.
pub fn dropped() -> u64 {
    LOGGER.dropped.load(Ordering::Relaxed)
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_buffered_and_drained() {
        install(LevelFilter::Info);
        log::info!(target: "pacer::test_logging", "hello {}", 42);
        log::debug!(target: "pacer::test_logging", "not recorded at info");
        let mine: Vec<LogRecord> = drain(usize::MAX)
            .into_iter()
            .filter(|r| r.target == "pacer::test_logging")
            .collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].message, "hello 42");
        assert_eq!(mine[0].level, Level::Info);
    }
}
