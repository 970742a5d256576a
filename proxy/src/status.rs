//! `pacer-proxy status`: the pool as the registry holds it: dispatchers, workers (cores used
//! and free, last heartbeat) and the external executors of each application.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::registry::{Registry, RegistryError};
use crate::wire::{DispatcherRecord, WorkerRecord};

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub dispatchers: Vec<DispatcherRecord>,
    pub workers: Vec<WorkerRecord>,
    /// Application id → its external executors as (executor id, worker id).
    pub applications: BTreeMap<String, Vec<(String, String)>>,
    pub read_ms: i64,
}

impl Status {
    pub fn read(registry: &mut Registry, now_ms: i64) -> Result<Status, RegistryError> {
        let dispatchers = registry.dispatchers()?;
        let workers = registry.workers()?;
        let mut applications: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for worker in &workers {
            for e in &worker.executors {
                applications
                    .entry(e.app_id.clone())
                    .or_default()
                    .push((e.executor_id.clone(), worker.id.clone()));
            }
        }
        for executors in applications.values_mut() {
            executors.sort();
        }
        Ok(Status {
            dispatchers,
            workers,
            applications,
            read_ms: now_ms,
        })
    }

    pub fn table(&self) -> String {
        let age = |ms: i64| format!("{:.1} s ago", (self.read_ms - ms).max(0) as f64 / 1000.0);
        let mut out = String::new();
        let _ = writeln!(out, "dispatchers: {}", self.dispatchers.len());
        for d in &self.dispatchers {
            let _ = writeln!(
                out,
                "  {:<24} {:<28} selector {:<12} heartbeat {}",
                d.id,
                d.endpoint,
                d.selector,
                age(d.heartbeat_ms)
            );
        }
        let _ = writeln!(out, "workers: {}", self.workers.len());
        let _ = writeln!(
            out,
            "  {:<24} {:<16} {:>5} {:>5} {:>9} {:>9}  {:<10} heartbeat",
            "id", "host", "cores", "free", "MiB", "free MiB", "spark"
        );
        for w in &self.workers {
            let _ = writeln!(
                out,
                "  {:<24} {:<16} {:>5} {:>5} {:>9} {:>9}  {:<10} {}",
                w.id,
                w.host,
                w.cores,
                w.free_cores(),
                w.memory_mb,
                w.free_memory_mb(),
                w.spark_homes.keys().cloned().collect::<Vec<_>>().join(","),
                age(w.heartbeat_ms)
            );
        }
        let _ = writeln!(
            out,
            "applications with external executors: {}",
            self.applications.len()
        );
        for (app, executors) in &self.applications {
            let list: Vec<String> = executors
                .iter()
                .map(|(id, worker)| format!("{id}@{worker}"))
                .collect();
            let _ = writeln!(out, "  {app}: {}", list.join(" "));
        }
        out
    }
}
