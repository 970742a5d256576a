//! The registered executors, which pool each comes from, their running-task counts and
//! pending kills.

use std::collections::{HashMap, HashSet, VecDeque};

/// Removed executor ids remembered so that late task events cannot resurrect them.
const REMEMBERED_REMOVALS: usize = 10_000;

/// Where an executor comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// The application's cluster manager.
    Internal,
    /// Pacer's external pool (a worker agent started it for the dispatcher).
    External,
}

#[derive(Debug)]
struct Executor {
    host: String,
    pool: Pool,
    added_ms: i64,
    running_tasks: u32,
    /// Set when Pacer asked Spark to kill it; it still counts as registered until removed.
    kill_requested_ms: Option<i64>,
}

#[derive(Debug, Default)]
pub struct Executors {
    registered: HashMap<String, Executor>,
    removed: HashSet<String>,
    removal_order: VecDeque<String>,
    /// Ids the external pool placed that have not registered yet: they are external even
    /// when the event that registers them does not say so (a lost ExecutorAdded).
    placed_external: HashSet<String>,
}

impl Executors {
    /// The driver is not an executor: the scale-out excludes it.
    fn is_driver(id: &str) -> bool {
        id == "driver"
    }

    /// Returns true when the executor was not registered before.
    pub fn add(&mut self, id: &str, host: &str, time_ms: i64, pool: Pool) -> bool {
        if Self::is_driver(id) || self.registered.contains_key(id) {
            return false;
        }
        let pool = if self.placed_external.remove(id) {
            Pool::External
        } else {
            pool
        };
        if self.removed.remove(id) {
            self.removal_order.retain(|r| r != id);
        }
        self.registered.insert(
            id.to_string(),
            Executor {
                host: host.to_string(),
                pool,
                added_ms: time_ms,
                running_tasks: 0,
                kill_requested_ms: None,
            },
        );
        true
    }

    /// Returns true when the executor was registered.
    pub fn remove(&mut self, id: &str) -> bool {
        if self.registered.remove(id).is_none() {
            return false;
        }
        if self.removed.insert(id.to_string()) {
            self.removal_order.push_back(id.to_string());
            if self.removal_order.len() > REMEMBERED_REMOVALS {
                if let Some(oldest) = self.removal_order.pop_front() {
                    self.removed.remove(&oldest);
                }
            }
        }
        true
    }

    /// A task started on `id`. An executor never seen before is registered (its
    /// ExecutorAdded event was lost); one already removed is not resurrected.
    /// Returns true when this registered a new executor.
    pub fn task_started(&mut self, id: &str, time_ms: i64) -> bool {
        if let Some(executor) = self.registered.get_mut(id) {
            executor.running_tasks += 1;
            return false;
        }
        if Self::is_driver(id) || self.removed.contains(id) {
            return false;
        }
        self.add(id, "", time_ms, Pool::Internal);
        if let Some(executor) = self.registered.get_mut(id) {
            executor.running_tasks = 1;
        }
        true
    }

    pub fn task_ended(&mut self, id: &str) {
        if let Some(executor) = self.registered.get_mut(id) {
            executor.running_tasks = executor.running_tasks.saturating_sub(1);
        }
    }

    /// No stage is running, so no task is: forget counts left over by lost task-end events.
    pub fn reset_running_tasks(&mut self) {
        for executor in self.registered.values_mut() {
            executor.running_tasks = 0;
        }
    }

    /// Registered executors, the driver excluded.
    pub fn count(&self) -> u32 {
        self.registered.len() as u32
    }

    /// Registered executors of `pool`, the driver excluded.
    pub fn count_in(&self, pool: Pool) -> u32 {
        self.registered.values().filter(|e| e.pool == pool).count() as u32
    }

    /// Registered executors that Pacer has not asked to kill.
    pub fn live_count(&self) -> u32 {
        self.registered
            .values()
            .filter(|e| e.kill_requested_ms.is_none())
            .count() as u32
    }

    /// Registered executors of `pool` that Pacer has not asked to kill.
    pub fn live_count_in(&self, pool: Pool) -> u32 {
        self.registered
            .values()
            .filter(|e| e.pool == pool && e.kill_requested_ms.is_none())
            .count() as u32
    }

    /// Ids of the registered executors of `pool`.
    pub fn ids_in(&self, pool: Pool) -> Vec<String> {
        let mut ids: Vec<String> = self
            .registered
            .iter()
            .filter(|(_, e)| e.pool == pool)
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    }

    pub fn pool(&self, id: &str) -> Option<Pool> {
        self.registered.get(id).map(|e| e.pool)
    }

    /// The external pool placed `id`; it is external when it registers.
    pub fn expect_external(&mut self, id: &str) {
        if !self.registered.contains_key(id) {
            self.placed_external.insert(id.to_string());
        }
    }

    /// A placement that will not register (given up or released before it did).
    pub fn forget_expected(&mut self, id: &str) {
        self.placed_external.remove(id);
    }

    /// Idle executors not yet asked to die, the most recently added first (they hold the
    /// least cached data), up to `limit`.
    pub fn idle_candidates(&self, limit: usize) -> Vec<String> {
        self.idle_candidates_in(None, limit)
    }

    /// [`Executors::idle_candidates`] of one pool (None: any).
    pub fn idle_candidates_in(&self, pool: Option<Pool>, limit: usize) -> Vec<String> {
        if limit == 0 {
            return Vec::new();
        }
        let mut idle: Vec<(&String, &Executor)> = self
            .registered
            .iter()
            .filter(|(_, e)| pool.is_none_or(|p| e.pool == p))
            .filter(|(_, e)| e.running_tasks == 0 && e.kill_requested_ms.is_none())
            .collect();
        idle.sort_by(|a, b| b.1.added_ms.cmp(&a.1.added_ms).then_with(|| b.0.cmp(a.0)));
        idle.into_iter()
            .take(limit)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The host an executor runs on ("" when unknown).
    pub fn host(&self, id: &str) -> Option<&str> {
        self.registered.get(id).map(|e| e.host.as_str())
    }

    pub fn mark_kill_requested(&mut self, ids: &[String], now_ms: i64) {
        for id in ids {
            if let Some(executor) = self.registered.get_mut(id) {
                executor.kill_requested_ms = Some(now_ms);
            }
        }
    }

    /// A kill Spark did not carry out within `grace_ms` is forgotten, so the executor
    /// counts again and may be chosen again.
    pub fn expire_kill_requests(&mut self, now_ms: i64, grace_ms: i64) {
        for executor in self.registered.values_mut() {
            if matches!(executor.kill_requested_ms, Some(t) if now_ms - t > grace_ms) {
                executor.kill_requested_ms = None;
            }
        }
    }

    pub fn clear(&mut self) {
        self.registered.clear();
    }

    #[cfg(test)]
    pub fn running_tasks(&self, id: &str) -> Option<u32> {
        self.registered.get(id).map(|e| e.running_tasks)
    }

    /// Entries held, for memory-bound checks.
    pub fn footprint(&self) -> usize {
        self.registered.len() + self.removed.len() + self.placed_external.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_is_not_counted() {
        let mut e = Executors::default();
        assert!(!e.add("driver", "h", 0, Pool::Internal));
        assert!(e.add("1", "h", 0, Pool::Internal));
        assert_eq!(e.count(), 1);
    }

    #[test]
    fn task_counts_saturate_and_reset() {
        let mut e = Executors::default();
        e.add("1", "h", 0, Pool::Internal);
        e.task_started("1", 1);
        e.task_started("1", 1);
        e.task_ended("1");
        e.task_ended("1");
        e.task_ended("1");
        assert_eq!(e.running_tasks("1"), Some(0));
        e.task_started("1", 2);
        e.reset_running_tasks();
        assert_eq!(e.running_tasks("1"), Some(0));
    }

    #[test]
    fn removed_executor_is_not_resurrected_by_late_tasks() {
        let mut e = Executors::default();
        e.add("1", "h", 0, Pool::Internal);
        e.task_started("1", 1);
        assert!(e.remove("1"));
        e.task_ended("1");
        assert!(!e.task_started("1", 2));
        assert_eq!(e.count(), 0);
        // A task on an executor whose ExecutorAdded was lost registers it.
        assert!(e.task_started("7", 3));
        assert_eq!(e.count(), 1);
    }

    #[test]
    fn idle_candidates_newest_first_and_skip_busy_and_killed() {
        let mut e = Executors::default();
        for (id, t) in [("1", 10), ("2", 20), ("3", 30), ("4", 40)] {
            e.add(id, "h", t, Pool::Internal);
        }
        e.task_started("3", 50);
        e.mark_kill_requested(&["4".to_string()], 60);
        assert_eq!(e.idle_candidates(5), vec!["2".to_string(), "1".to_string()]);
        assert_eq!(e.idle_candidates(1), vec!["2".to_string()]);
        assert_eq!(e.live_count(), 3);
        assert_eq!(e.count(), 4);
        e.expire_kill_requests(60 + 1_000, 500);
        assert_eq!(e.live_count(), 4);
    }

    #[test]
    fn executors_by_pool() {
        let mut e = Executors::default();
        e.add("1", "h", 1, Pool::Internal);
        e.add("1000000", "h2", 2, Pool::External);
        // Placed by the pool; its ExecutorAdded is lost and a task reveals it.
        e.expect_external("1000001");
        assert!(e.task_started("1000001", 3));
        assert_eq!(e.count_in(Pool::External), 2);
        assert_eq!(e.live_count_in(Pool::Internal), 1);
        assert_eq!(e.ids_in(Pool::External), ["1000000", "1000001"]);
        e.task_ended("1000001");
        assert_eq!(
            e.idle_candidates_in(Some(Pool::External), 5),
            ["1000001", "1000000"]
        );
        assert_eq!(e.idle_candidates_in(Some(Pool::Internal), 5), ["1"]);
    }

    #[test]
    fn removal_memory_is_bounded() {
        let mut e = Executors::default();
        for i in 0..(REMEMBERED_REMOVALS + 500) {
            let id = i.to_string();
            e.add(&id, "h", 0, Pool::Internal);
            e.remove(&id);
        }
        assert!(e.footprint() <= REMEMBERED_REMOVALS);
    }
}
