//! Turns the bridge's recommendations into executor actions for the host to apply.

use std::time::{Duration, Instant};

use crate::aggregation::{Executors, Pool};

/// How often a scale-down that waits for executors to become idle is looked at again.
const IDLE_RECHECK: Duration = Duration::from_secs(1);

/// Something the host must do to Spark, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `SparkContext.requestTotalExecutors(n, 0, Map())`.
    RequestTotal(u32),
    /// `SparkContext.killExecutor(id)` for each id. Spark lowers its requested total by one
    /// per kill, so a `RequestTotal` always follows in the same batch to set the total right.
    Kill(Vec<String>),
}

/// What a recommendation meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recommendation {
    /// Equal to the scale-out the message carried: the bridge means "no change".
    Echo,
    /// A new target, clamped to `[min, max]`.
    Target(u32),
}

/// Actions to apply now, and when to look again if something is pending.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Decision {
    pub actions: Vec<Action>,
    /// A recommendation deferred by the rate limit, or a scale-down waiting for idle executors.
    pub recheck_at: Option<Instant>,
    /// A new scale-out was requested (for the rescaling timeline).
    pub requested: Option<u32>,
}

/// Which pool a target's executors come from (`reschedule.dst.executor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// All from the cluster manager (Pacer without the external pool).
    Internal,
    /// All from the external pool.
    External,
    /// The cluster manager up to its capacity, the external pool beyond it.
    Burst { internal_capacity: u32 },
}

impl Placement {
    /// (internal, external) executors of a target. Lowering the target lowers the external
    /// part first: scale-down releases external executors first.
    pub fn split(self, target: u32) -> (u32, u32) {
        match self {
            Placement::Internal => (target, 0),
            Placement::External => (0, target),
            Placement::Burst { internal_capacity } => {
                let internal = target.min(internal_capacity);
                (internal, target - internal)
            }
        }
    }
}

#[derive(Debug)]
pub struct Controller {
    min: u32,
    max: u32,
    request_window: Duration,
    /// False when Spark's dynamic allocation owns executor removal: scale-down then only
    /// lowers the total and Spark releases idle executors by its idle timeout.
    kills_enabled: bool,
    placement: Placement,
    target: Option<u32>,
    requested_total: Option<u32>,
    /// The external part of the last target applied: what the external pool works towards.
    external_target: Option<u32>,
    last_request_at: Option<Instant>,
}

impl Controller {
    pub fn new(min: u32, max: u32, request_window: Duration, kills_enabled: bool) -> Controller {
        Controller::with_placement(min, max, request_window, kills_enabled, Placement::Internal)
    }

    pub fn with_placement(
        min: u32,
        max: u32,
        request_window: Duration,
        kills_enabled: bool,
        placement: Placement,
    ) -> Controller {
        Controller {
            min,
            max,
            request_window,
            kills_enabled,
            placement,
            target: None,
            requested_total: None,
            external_target: None,
            last_request_at: None,
        }
    }

    /// Takes a recommendation. `carried` is the `num_executors` of the message it answers.
    pub fn recommend(&mut self, recommended: i64, carried: Option<i64>) -> Recommendation {
        if carried == Some(recommended) {
            return Recommendation::Echo;
        }
        let clamped = recommended.clamp(i64::from(self.min), i64::from(self.max)) as u32;
        self.target = Some(clamped);
        Recommendation::Target(clamped)
    }

    /// Sets a target without a recommendation (the external pool's start-up scale-out, when
    /// no recommendation has come yet).
    pub fn set_initial_target(&mut self, target: u32) {
        if self.target.is_none() {
            self.target = Some(target.clamp(self.min, self.max));
        }
    }

    pub fn target(&self) -> Option<u32> {
        self.target
    }

    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// External executors wanted now (0 until a target was applied).
    pub fn external_target(&self) -> u32 {
        self.external_target.unwrap_or(0)
    }

    /// What to do now. Kills are marked on `executors` so they are not chosen twice.
    pub fn decide(&mut self, now: Instant, now_ms: i64, executors: &mut Executors) -> Decision {
        let Some(target) = self.target else {
            return Decision::default();
        };
        let (internal, external) = self.placement.split(target);
        let live_internal = executors.live_count_in(Pool::Internal);
        let live_external = executors.live_count_in(Pool::External);
        let current_internal = self.requested_total.unwrap_or(live_internal);
        let current_external = self.external_target.unwrap_or(live_external);

        if internal != current_internal || external != current_external {
            if let Some(window_end) = self.last_request_at.map(|t| t + self.request_window) {
                if now < window_end {
                    return Decision {
                        recheck_at: Some(window_end),
                        ..Decision::default()
                    };
                }
            }
            let mut actions = Vec::new();
            let (killed, waiting_for_idle) = self.kill_excess(
                [
                    (Pool::Internal, live_internal, internal),
                    (Pool::External, live_external, external),
                ],
                now_ms,
                executors,
                &mut actions,
            );
            if internal != current_internal || killed > 0 {
                actions.push(Action::RequestTotal(internal));
            }
            self.requested_total = Some(internal);
            self.external_target = Some(external);
            self.last_request_at = Some(now);
            return Decision {
                actions,
                recheck_at: waiting_for_idle.then(|| now + IDLE_RECHECK),
                requested: Some(target),
            };
        }

        // The totals are right; a scale-down may still wait for executors to become idle.
        if (live_internal <= internal && live_external <= external) || !self.kills_enabled {
            return Decision::default();
        }
        let mut actions = Vec::new();
        let (killed, waiting) = self.kill_excess(
            [
                (Pool::Internal, live_internal, internal),
                (Pool::External, live_external, external),
            ],
            now_ms,
            executors,
            &mut actions,
        );
        if killed > 0 {
            actions.push(Action::RequestTotal(internal));
        }
        Decision {
            actions,
            recheck_at: waiting.then(|| now + IDLE_RECHECK),
            requested: None,
        }
    }

    /// Kills idle executors above each pool's target, given as (pool, live, target). Returns
    /// how many were killed and whether some pool still has more than its target (waiting for
    /// busy executors to become idle).
    fn kill_excess(
        &self,
        pools: [(Pool, u32, u32); 2],
        now_ms: i64,
        executors: &mut Executors,
        actions: &mut Vec<Action>,
    ) -> (u32, bool) {
        let mut killed = 0;
        let mut waiting = false;
        for (pool, live, target) in pools {
            let n = self.kill_idle(pool, live, target, now_ms, executors, actions);
            killed += n;
            waiting |= self.kills_enabled && live - n > target;
        }
        (killed, waiting)
    }

    fn kill_idle(
        &self,
        pool: Pool,
        live: u32,
        target: u32,
        now_ms: i64,
        executors: &mut Executors,
        actions: &mut Vec<Action>,
    ) -> u32 {
        if live <= target || !self.kills_enabled {
            return 0;
        }
        let ids = executors.idle_candidates_in(Some(pool), (live - target) as usize);
        if ids.is_empty() {
            return 0;
        }
        executors.mark_kill_requested(&ids, now_ms);
        let killed = ids.len() as u32;
        actions.push(Action::Kill(ids));
        killed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(15);

    fn executors(n: u32) -> Executors {
        let mut e = Executors::default();
        for i in 1..=n {
            e.add(&i.to_string(), "h", i64::from(i), Pool::Internal);
        }
        e
    }

    fn kills(d: &Decision) -> Vec<String> {
        d.actions
            .iter()
            .flat_map(|a| match a {
                Action::Kill(ids) => ids.clone(),
                Action::RequestTotal(_) => Vec::new(),
            })
            .collect()
    }

    fn external(e: &mut Executors, ids: &[&str]) {
        for id in ids {
            e.add(id, "ext", 100, Pool::External);
        }
    }

    #[test]
    fn burst_fills_the_cluster_manager_first_and_releases_external_first() {
        let placement = Placement::Burst {
            internal_capacity: 2,
        };
        assert_eq!(placement.split(4), (2, 2));
        assert_eq!(placement.split(1), (1, 0));
        let mut c = Controller::with_placement(1, 10, WINDOW, true, placement);
        let mut e = executors(2);
        let t0 = Instant::now();
        c.recommend(4, Some(2));
        let d = c.decide(t0, 0, &mut e);
        assert_eq!(d.actions, vec![], "the cluster manager already gives its 2");
        assert_eq!(d.requested, Some(4));
        assert_eq!(c.external_target(), 2);
        external(&mut e, &["1000000", "1000001"]);
        // Down to 1: both external executors go (Spark is told; the pool stops them), then one
        // internal one.
        c.recommend(1, Some(4));
        let d = c.decide(t0 + WINDOW, 0, &mut e);
        assert_eq!(
            d.actions,
            vec![
                Action::Kill(vec!["2".into()]),
                Action::Kill(vec!["1000001".into(), "1000000".into()]),
                Action::RequestTotal(1)
            ]
        );
        assert_eq!(c.external_target(), 0);
    }

    #[test]
    fn external_asks_the_cluster_manager_for_nothing() {
        let mut c = Controller::with_placement(1, 10, WINDOW, true, Placement::External);
        let mut e = Executors::default();
        c.set_initial_target(3);
        let d = c.decide(Instant::now(), 0, &mut e);
        assert!(d.actions.is_empty(), "{d:?}");
        assert_eq!(c.external_target(), 3);
        // Internal executors the cluster manager gave anyway are released when idle.
        e.add("0", "h", 1, Pool::Internal);
        external(&mut e, &["1000000", "1000001", "1000002"]);
        let d = c.decide(Instant::now(), 0, &mut e);
        assert_eq!(
            d.actions,
            vec![Action::Kill(vec!["0".into()]), Action::RequestTotal(0)]
        );
    }

    #[test]
    fn no_recommendation_no_action() {
        let mut c = Controller::new(1, 10, WINDOW, true);
        let mut e = executors(2);
        assert_eq!(c.decide(Instant::now(), 0, &mut e), Decision::default());
    }

    #[test]
    fn clamps_to_bounds() {
        let mut c = Controller::new(2, 8, WINDOW, true);
        assert_eq!(c.recommend(100, Some(4)), Recommendation::Target(8));
        assert_eq!(c.recommend(-3, Some(4)), Recommendation::Target(2));
        assert_eq!(c.recommend(5, None), Recommendation::Target(5));
    }

    #[test]
    fn scale_up_requests_total_once() {
        let mut c = Controller::new(1, 10, WINDOW, true);
        let mut e = executors(2);
        let now = Instant::now();
        c.recommend(5, Some(2));
        let d = c.decide(now, 0, &mut e);
        assert_eq!(d.actions, vec![Action::RequestTotal(5)]);
        assert_eq!(d.requested, Some(5));
        // Executors still starting count: no second request.
        e.add("3", "h", 10, Pool::Internal);
        assert!(c.decide(now + WINDOW * 2, 0, &mut e).actions.is_empty());
    }

    #[test]
    fn echo_does_not_cancel_a_scale_out_in_progress() {
        let mut c = Controller::new(1, 10, WINDOW, true);
        let mut e = executors(2);
        let now = Instant::now();
        c.recommend(6, Some(2));
        c.decide(now, 0, &mut e);
        // A JOB_START sent while only 3 executors had registered is echoed back.
        e.add("3", "h", 1, Pool::Internal);
        assert_eq!(c.recommend(3, Some(3)), Recommendation::Echo);
        assert!(c.decide(now + WINDOW * 2, 0, &mut e).actions.is_empty());
        assert_eq!(c.target(), Some(6));
    }

    #[test]
    fn equal_to_current_scale_out_is_no_action() {
        let mut c = Controller::new(1, 10, WINDOW, true);
        let mut e = executors(4);
        c.recommend(4, Some(3));
        assert!(c.decide(Instant::now(), 0, &mut e).actions.is_empty());
    }

    #[test]
    fn rate_limit_defers_the_latest_recommendation() {
        let mut c = Controller::new(1, 10, WINDOW, true);
        let mut e = executors(2);
        let t0 = Instant::now();
        c.recommend(4, Some(2));
        assert_eq!(
            c.decide(t0, 0, &mut e).actions,
            vec![Action::RequestTotal(4)]
        );
        c.recommend(7, Some(2));
        c.recommend(8, Some(2));
        let d = c.decide(t0 + Duration::from_secs(3), 0, &mut e);
        assert!(d.actions.is_empty());
        assert_eq!(d.recheck_at, Some(t0 + WINDOW));
        let d = c.decide(t0 + WINDOW, 0, &mut e);
        assert_eq!(d.actions, vec![Action::RequestTotal(8)]);
    }

    #[test]
    fn scale_down_kills_idle_executors_then_lowers_the_total() {
        let mut c = Controller::new(1, 10, WINDOW, true);
        let mut e = executors(5);
        e.task_started("5", 0);
        e.task_started("4", 0);
        c.recommend(2, Some(5));
        let d = c.decide(Instant::now(), 0, &mut e);
        assert_eq!(
            d.actions,
            vec![
                Action::Kill(vec!["3".into(), "2".into(), "1".into()]),
                Action::RequestTotal(2)
            ]
        );
        assert_eq!(d.recheck_at, None);
    }

    #[test]
    fn scale_down_waits_for_busy_executors_and_never_kills_more_than_needed() {
        let mut c = Controller::new(1, 10, WINDOW, true);
        let mut e = executors(4);
        for id in ["1", "2", "3"] {
            e.task_started(id, 0);
        }
        let t0 = Instant::now();
        c.recommend(1, Some(4));
        let d = c.decide(t0, 0, &mut e);
        assert_eq!(kills(&d), vec!["4".to_string()]);
        assert_eq!(d.actions.last(), Some(&Action::RequestTotal(1)));
        assert!(d.recheck_at.is_some());
        // Nothing became idle yet.
        let d = c.decide(t0 + Duration::from_secs(1), 0, &mut e);
        assert!(d.actions.is_empty() && d.recheck_at.is_some());
        // Two become idle: both can go (3 live, target 1), and the total is restored after the kills.
        e.task_ended("1");
        e.task_ended("2");
        let d = c.decide(t0 + Duration::from_secs(2), 0, &mut e);
        assert_eq!(kills(&d).len(), 2);
        assert_eq!(d.actions.last(), Some(&Action::RequestTotal(1)));
        assert!(d.recheck_at.is_none());
        assert!(c
            .decide(t0 + Duration::from_secs(3), 0, &mut e)
            .actions
            .is_empty());
    }

    #[test]
    fn without_kills_scale_down_only_lowers_the_total() {
        let mut c = Controller::new(1, 10, WINDOW, false);
        let mut e = executors(5);
        c.recommend(2, Some(5));
        let d = c.decide(Instant::now(), 0, &mut e);
        assert_eq!(d.actions, vec![Action::RequestTotal(2)]);
        assert_eq!(d.recheck_at, None);
        assert!(c.decide(Instant::now(), 0, &mut e).actions.is_empty());
    }

    #[test]
    fn lowering_the_total_below_starting_executors_kills_the_extra_ones_when_they_arrive() {
        let mut c = Controller::new(1, 10, WINDOW, true);
        let mut e = executors(2);
        let t0 = Instant::now();
        c.recommend(6, Some(2));
        c.decide(t0, 0, &mut e);
        c.recommend(3, Some(2));
        let d = c.decide(t0 + WINDOW, 0, &mut e);
        assert_eq!(d.actions, vec![Action::RequestTotal(3)]);
        // Two of the executors requested earlier arrive anyway.
        e.add("3", "h", 1, Pool::Internal);
        e.add("4", "h", 2, Pool::Internal);
        let d = c.decide(t0 + WINDOW, 0, &mut e);
        assert_eq!(kills(&d), vec!["4".to_string()]);
    }
}
