//! Earlier runs per application, kept in memory so that a run sees the runs that finished just
//! before it even while their writes are still on the way to disk. Bounded in applications
//! and in runs per application.

use std::collections::{HashMap, VecDeque};
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
    runs: HashMap<String, Arc<Vec<RunRecord>>>,
    recency: VecDeque<String>,
}

impl Inner {
    fn touch(&mut self, app_name: &str) {
        if let Some(pos) = self.recency.iter().position(|n| n == app_name) {
            self.recency.remove(pos);
        }
        self.recency.push_back(app_name.to_string());
        while self.recency.len() > MAX_APPLICATIONS {
            if let Some(oldest) = self.recency.pop_front() {
                self.runs.remove(&oldest);
            }
        }
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
        if let Some(runs) = self.lookup(app_name) {
            return Ok(runs);
        }
        let loaded = Arc::new(reader.finished_runs(app_name, MAX_RUNS, self.job_scale_out)?);
        let mut inner = self.inner.lock();
        let runs = inner
            .runs
            .entry(app_name.to_string())
            .or_insert(loaded)
            .clone();
        inner.touch(app_name);
        Ok(runs)
    }

    fn lookup(&self, app_name: &str) -> Option<Arc<Vec<RunRecord>>> {
        let mut inner = self.inner.lock();
        let runs = inner.runs.get(app_name).cloned()?;
        inner.touch(app_name);
        Some(runs)
    }

    /// A run of `app_name` finished.
    pub fn add(&self, app_name: &str, run: RunRecord, reader: &Reader) -> Result<(), StoreError> {
        if self.lookup(app_name).is_none() {
            let loaded = Arc::new(reader.finished_runs(app_name, MAX_RUNS, self.job_scale_out)?);
            self.inner
                .lock()
                .runs
                .entry(app_name.to_string())
                .or_insert(loaded);
        }
        let mut inner = self.inner.lock();
        let runs = Arc::make_mut(inner.runs.entry(app_name.to_string()).or_default());
        if !runs.iter().any(|r| r.app_event_id == run.app_event_id) {
            runs.push(run);
            if runs.len() > MAX_RUNS {
                let excess = runs.len() - MAX_RUNS;
                runs.drain(..excess);
            }
        }
        inner.touch(app_name);
        Ok(())
    }

    pub fn applications(&self) -> usize {
        self.inner.lock().runs.len()
    }
}
