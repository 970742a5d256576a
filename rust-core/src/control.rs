//! Turns the bridge's recommendations into executor actions for the host to apply.

use std::time::{Duration, Instant};

use crate::aggregation::Executors;

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

#[derive(Debug)]
pub struct Controller {
    min: u32,
    max: u32,
    request_window: Duration,
    /// False when Spark's dynamic allocation owns executor removal: scale-down then only
    /// lowers the total and Spark releases idle executors by its idle timeout.
    kills_enabled: bool,
    target: Option<u32>,
    requested_total: Option<u32>,
    last_request_at: Option<Instant>,
}

impl Controller {
    pub fn new(min: u32, max: u32, request_window: Duration, kills_enabled: bool) -> Controller {
        Controller {
            min,
            max,
            request_window,
            kills_enabled,
            target: None,
            requested_total: None,
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

    pub fn target(&self) -> Option<u32> {
        self.target
    }

    /// What to do now. Kills are marked on `executors` so they are not chosen twice.
    pub fn decide(&mut self, now: Instant, now_ms: i64, executors: &mut Executors) -> Decision {
        let Some(target) = self.target else {
            return Decision::default();
        };
        let live = executors.live_count();
        let current_total = self.requested_total.unwrap_or(live);

        if target != current_total {
            if let Some(window_end) = self.last_request_at.map(|t| t + self.request_window) {
                if now < window_end {
                    return Decision {
                        recheck_at: Some(window_end),
                        ..Decision::default()
                    };
                }
            }
            let mut actions = Vec::new();
            let killed = self.kill_idle(live, target, now_ms, executors, &mut actions);
            actions.push(Action::RequestTotal(target));
            self.requested_total = Some(target);
            self.last_request_at = Some(now);
            let waiting_for_idle = self.kills_enabled && live - killed > target;
            return Decision {
                actions,
                recheck_at: waiting_for_idle.then(|| now + IDLE_RECHECK),
                requested: Some(target),
            };
        }

        // The total is right; a scale-down may still wait for executors to become idle.
        if live <= target || !self.kills_enabled {
            return Decision::default();
        }
        let mut actions = Vec::new();
        let killed = self.kill_idle(live, target, now_ms, executors, &mut actions);
        if killed > 0 {
            actions.push(Action::RequestTotal(target));
        }
        Decision {
            actions,
            recheck_at: (live - killed > target).then(|| now + IDLE_RECHECK),
            requested: None,
        }
    }

    fn kill_idle(
        &self,
        live: u32,
        target: u32,
        now_ms: i64,
        executors: &mut Executors,
        actions: &mut Vec<Action>,
    ) -> u32 {
        if live <= target || !self.kills_enabled {
            return 0;
        }
        let ids = executors.idle_candidates((live - target) as usize);
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
            e.add(&i.to_string(), "h", i64::from(i));
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
        e.add("3", "h", 10);
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
        e.add("3", "h", 1);
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
        e.add("3", "h", 1);
        e.add("4", "h", 2);
        let d = c.decide(t0 + WINDOW, 0, &mut e);
        assert_eq!(kills(&d), vec!["4".to_string()]);
    }
}
