//! Earlier runs per application, kept in memory so that a run sees the runs that finished just
//! before it even while their writes are still on the way to disk. Bounded in applications
//! and in runs per application.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::history::{JobScaleOut, RunRecord};
use crate::store::{Reader, StoreError};

/// Applications kept; the least recently used is forgotten beyond this (and reloaded from
/// the store when needed again).
const MAX_APPLICATIONS: usize = 1_000;
/// The most recent runs of an application that policies see.
pub const MAX_RUNS: usize = 500;

pub struct HistoryCache {
    inner: Mutex<Inner>,
    /// The policy's definition of a job's scale-out, for runs loaded from the store.
    job_scale_out: JobScaleOut,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// Counts uses; an entry's `last_used` is the count at its latest use.
    clock: u64,
}

struct Entry {
    runs: Arc<Vec<RunRecord>>,
    last_used: u64,
}

impl Inner {
    /// The runs of `app_name`, now its most recent use.
    fn touch(&mut self, app_name: &str) -> Option<&mut Arc<Vec<RunRecord>>> {
        self.clock += 1;
        let entry = self.entries.get_mut(app_name)?;
        entry.last_used = self.clock;
        Some(&mut entry.runs)
    }

    /// Keeps `runs` for `app_name` unless it has runs already; forgets the least recently used
    /// application beyond [`MAX_APPLICATIONS`] (a scan, only when a new one comes in).
    fn insert(&mut self, app_name: &str, runs: Arc<Vec<RunRecord>>) -> &mut Arc<Vec<RunRecord>> {
        if !self.entries.contains_key(app_name) {
            if self.entries.len() >= MAX_APPLICATIONS {
                let oldest = self
                    .entries
                    .iter()
                    .min_by_key(|(_, e)| e.last_used)
                    .map(|(name, _)| name.clone());
                if let Some(oldest) = oldest {
                    self.entries.remove(&oldest);
                }
            }
            self.entries
                .insert(app_name.to_string(), Entry { runs, last_used: 0 });
        }
        self.touch(app_name).expect("the entry was just made")
    }
}

impl HistoryCache {
    pub fn new(job_scale_out: JobScaleOut) -> HistoryCache {
        HistoryCache {
            inner: Mutex::default(),
            job_scale_out,
        }
    }

    /// The finished runs of `app_name`, oldest first.
    pub fn get(&self, app_name: &str, reader: &Reader) -> Result<Arc<Vec<RunRecord>>, StoreError> {
        if let Some(runs) = self.inner.lock().touch(app_name) {
            return Ok(runs.clone());
        }
        let loaded = Arc::new(reader.finished_runs(app_name, MAX_RUNS, self.job_scale_out)?);
        Ok(self.inner.lock().insert(app_name, loaded).clone())
    }

    /// A run of `app_name` finished.
    pub fn add(&self, app_name: &str, run: RunRecord, reader: &Reader) -> Result<(), StoreError> {
        if self.inner.lock().touch(app_name).is_none() {
            let loaded = Arc::new(reader.finished_runs(app_name, MAX_RUNS, self.job_scale_out)?);
            self.inner.lock().insert(app_name, loaded);
        }
        let mut inner = self.inner.lock();
        let runs = Arc::make_mut(inner.insert(app_name, Arc::default()));
        if !runs.iter().any(|r| r.app_event_id == run.app_event_id) {
            runs.push(run);
            if runs.len() > MAX_RUNS {
                let excess = runs.len() - MAX_RUNS;
                runs.drain(..excess);
            }
        }
        Ok(())
    }

    pub fn applications(&self) -> usize {
        self.inner.lock().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{tests::tempdir, Store};

    fn run(id: &str) -> RunRecord {
        RunRecord {
            app_event_id: id.into(),
            is_adaptive: true,
            start_ms: 0,
            runtime_ms: 1_000,
            target_ms: 2_000,
            jobs: Vec::new(),
        }
    }

    fn ids(runs: &[RunRecord]) -> Vec<&str> {
        runs.iter().map(|r| r.app_event_id.as_str()).collect()
    }

    #[test]
    fn keeps_runs_per_application_and_forgets_the_least_recently_used() {
        let store = Store::open(&tempdir().join("h.db")).unwrap();
        let reader = store.reader().unwrap();
        let cache = HistoryCache::new(JobScaleOut::AtEnd);
        cache.add("a", run("a1"), &reader).unwrap();
        cache.add("a", run("a2"), &reader).unwrap();
        cache.add("a", run("a2"), &reader).unwrap();
        assert_eq!(ids(&cache.get("a", &reader).unwrap()), ["a1", "a2"]);

        for i in 1..MAX_APPLICATIONS {
            cache.add(&format!("app {i}"), run("x"), &reader).unwrap();
        }
        assert_eq!(cache.applications(), MAX_APPLICATIONS);
        // "a" was used again; "app 1" is now the least recently used.
        cache.get("a", &reader).unwrap();
        cache.add("one more", run("y"), &reader).unwrap();
        assert_eq!(cache.applications(), MAX_APPLICATIONS);
        assert_eq!(ids(&cache.get("a", &reader).unwrap()), ["a1", "a2"]);
        let inner = cache.inner.lock();
        assert!(!inner.entries.contains_key("app 1"));
        assert!(inner.entries.contains_key("app 2"));
    }
}
