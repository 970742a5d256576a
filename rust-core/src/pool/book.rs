//! What the driver knows of its external executors between the dispatcher's placements and
//! Spark's events: placed but not registered yet, released by Spark but not stopped yet.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::aggregation::{Executors, Pool};

/// What the pool thread should do now.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Work {
    /// External executors to stop (Spark no longer uses them, or they never registered).
    pub release: Vec<String>,
    /// More executors to ask the dispatcher for.
    pub acquire: u32,
    /// External ids the application knows: the dispatcher hands out ids above them.
    pub known_ids: Vec<String>,
}

impl Work {
    pub fn is_empty(&self) -> bool {
        self.release.is_empty() && self.acquire == 0
    }
}

#[derive(Debug, Default)]
pub struct PoolBook {
    /// Placed by the dispatcher, not registered with Spark yet: id → when placed.
    pending: BTreeMap<String, Instant>,
    /// Spark was told to kill them: the dispatcher must stop their processes.
    releases: Vec<String>,
    /// Kills handed to the host in the last batch of actions, not known to be applied yet.
    unacked_kills: Vec<String>,
    /// Why launches were given up, for the log.
    pub expired: u64,
}

impl PoolBook {
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// An executor registered with Spark; true when it was one of the pool's placements.
    pub fn registered(&mut self, id: &str) -> bool {
        self.pending.remove(id).is_some()
    }

    /// External executors the host was just told to kill.
    pub fn kills_handed_out(&mut self, ids: &[String]) {
        self.unacked_kills.extend(ids.iter().cloned());
    }

    /// The host asks for actions again, so it applied the last batch: Spark will send no more
    /// tasks to the executors it killed, and their processes can go.
    pub fn batch_applied(&mut self) -> bool {
        if self.unacked_kills.is_empty() {
            return false;
        }
        self.releases.append(&mut self.unacked_kills);
        true
    }

    pub fn placed(&mut self, ids: &[String], now: Instant, executors: &mut Executors) {
        for id in ids {
            if executors.pool(id).is_none() {
                self.pending.insert(id.clone(), now);
                executors.expect_external(id);
            }
        }
    }

    /// Releases that could not be sent go out with the next exchange.
    pub fn requeue(&mut self, ids: Vec<String>) {
        self.releases.extend(ids);
    }

    /// The work that brings the pool to `target` external executors.
    pub fn work(
        &mut self,
        now: Instant,
        target: u32,
        executors: &mut Executors,
        launch_timeout: Duration,
    ) -> Work {
        let mut release = Vec::new();
        let expired: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, placed)| now.duration_since(**placed) >= launch_timeout)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            log::warn!(
                "external executor {id} did not register within {} s: given up and stopped",
                launch_timeout.as_secs()
            );
            self.expired += 1;
            self.pending.remove(&id);
            executors.forget_expected(&id);
            release.push(id);
        }
        let live = executors.live_count_in(Pool::External) as usize;
        let excess = (live + self.pending.len()).saturating_sub(target as usize);
        if excess > 0 {
            // Placements that have not registered go first, the newest first.
            let mut newest: Vec<(Instant, String)> = self
                .pending
                .iter()
                .map(|(id, t)| (*t, id.clone()))
                .collect();
            newest.sort_by(|a, b| b.cmp(a));
            for (_, id) in newest.into_iter().take(excess) {
                self.pending.remove(&id);
                executors.forget_expected(&id);
                release.push(id);
            }
        }
        release.append(&mut self.releases);
        let have = live + self.pending.len();
        let mut known_ids = executors.ids_in(Pool::External);
        known_ids.extend(self.pending.keys().cloned());
        Work {
            release,
            acquire: (target as usize).saturating_sub(have) as u32,
            known_ids,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(120);

    #[test]
    fn acquires_up_to_the_target_counting_what_is_starting() {
        let mut book = PoolBook::default();
        let mut e = Executors::default();
        let t0 = Instant::now();
        assert_eq!(book.work(t0, 3, &mut e, TIMEOUT).acquire, 3);
        book.placed(&["1000000".into(), "1000001".into()], t0, &mut e);
        let w = book.work(t0, 3, &mut e, TIMEOUT);
        assert_eq!(w.acquire, 1);
        assert_eq!(w.known_ids, ["1000000", "1000001"]);
        e.add("1000000", "h", 1, Pool::Internal);
        assert_eq!(
            e.pool("1000000"),
            Some(Pool::External),
            "placed ids are external"
        );
        assert!(book.registered("1000000"));
        assert_eq!(book.work(t0, 3, &mut e, TIMEOUT).acquire, 1);
        assert_eq!(
            book.work(t0, 2, &mut e, TIMEOUT),
            Work {
                release: vec![],
                acquire: 0,
                known_ids: vec!["1000000".into(), "1000001".into()],
            }
        );
    }

    #[test]
    fn a_lower_target_cancels_placements_that_have_not_registered_newest_first() {
        let mut book = PoolBook::default();
        let mut e = Executors::default();
        let t0 = Instant::now();
        book.placed(&["10".into()], t0, &mut e);
        book.placed(&["11".into()], t0 + Duration::from_secs(1), &mut e);
        let w = book.work(t0 + Duration::from_secs(2), 1, &mut e, TIMEOUT);
        assert_eq!(w.release, ["11"]);
        assert_eq!(book.pending_count(), 1);
    }

    #[test]
    fn placements_that_never_register_are_given_up() {
        let mut book = PoolBook::default();
        let mut e = Executors::default();
        let t0 = Instant::now();
        book.placed(&["10".into()], t0, &mut e);
        let w = book.work(t0 + TIMEOUT, 1, &mut e, TIMEOUT);
        assert_eq!((w.release, w.acquire), (vec!["10".to_string()], 1));
        assert_eq!(book.expired, 1);
    }

    #[test]
    fn killed_executors_are_released_once_the_host_applied_the_kill() {
        let mut book = PoolBook::default();
        let mut e = Executors::default();
        let t0 = Instant::now();
        book.kills_handed_out(&["10".into()]);
        assert!(book.work(t0, 0, &mut e, TIMEOUT).release.is_empty());
        assert!(book.batch_applied());
        assert_eq!(book.work(t0, 0, &mut e, TIMEOUT).release, ["10"]);
        assert!(book.work(t0, 0, &mut e, TIMEOUT).is_empty());
    }
}
