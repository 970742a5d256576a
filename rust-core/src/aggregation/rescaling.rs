//! When the executor count was changing.
//!
//! A rescaling period begins when a new scale-out is requested, or when the count moves away
//! from the one aimed for without a request (an executor lost); it ends when the registered
//! count reaches the scale-out aimed for. Before any scale-out is known (no request yet and no
//! `spark.executor.instances`), count changes are instantaneous and never open a period.
//!
//! Instead of keeping every period, the timeline keeps the cumulative rescaling time, so the
//! rescaling time inside any window is `cumulative(end) - cumulative(start)` and memory stays
//! constant over an application of any length.

#[derive(Debug, Default, Clone)]
pub struct RescalingTimeline {
    aimed_for: Option<u32>,
    count: u32,
    open_since_ms: Option<i64>,
    closed_total_ms: i64,
}

impl RescalingTimeline {
    pub fn new(aimed_for: Option<u32>) -> RescalingTimeline {
        RescalingTimeline {
            aimed_for,
            ..RescalingTimeline::default()
        }
    }

    /// A new scale-out was requested at `time_ms`.
    pub fn requested(&mut self, time_ms: i64, target: u32) {
        self.aimed_for = Some(target);
        self.settle(time_ms);
    }

    /// The registered executor count changed to `count` at `time_ms`.
    pub fn count_changed(&mut self, time_ms: i64, count: u32) {
        self.count = count;
        self.settle(time_ms);
    }

    fn settle(&mut self, time_ms: i64) {
        let Some(aimed_for) = self.aimed_for else {
            return;
        };
        match (self.count == aimed_for, self.open_since_ms) {
            (true, Some(since)) => {
                self.closed_total_ms += (time_ms - since).max(0);
                self.open_since_ms = None;
            }
            (false, None) => self.open_since_ms = Some(time_ms),
            _ => {}
        }
    }

    /// Total rescaling time from the beginning up to `time_ms`.
    pub fn cumulative_ms(&self, time_ms: i64) -> i64 {
        let open = self
            .open_since_ms
            .map_or(0, |since| (time_ms - since).max(0));
        self.closed_total_ms + open
    }

    pub fn is_rescaling(&self) -> bool {
        self.open_since_ms.is_some()
    }
}

/// A point on the timeline, recorded when a window opens, to measure the window later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub time_ms: i64,
    pub cumulative_ms: i64,
}

impl Mark {
    pub fn at(timeline: &RescalingTimeline, time_ms: i64) -> Mark {
        Mark {
            time_ms,
            cumulative_ms: timeline.cumulative_ms(time_ms),
        }
    }

    /// Share of the window from this mark to `end` spent rescaling, by the division rule and
    /// clamped to [0, 1] (event clocks are not perfectly ordered).
    pub fn ratio_until(&self, end: Mark) -> f64 {
        let rescaling = (end.cumulative_ms - self.cumulative_ms).max(0) as f64;
        let window = (end.time_ms - self.time_ms).max(0) as f64;
        pacer_protocol::ratio(rescaling, window).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_opens_and_reaching_target_closes() {
        let mut t = RescalingTimeline::new(Some(2));
        t.count_changed(0, 1);
        t.count_changed(100, 2);
        assert_eq!(t.cumulative_ms(1_000), 100);
        t.requested(1_000, 4);
        t.count_changed(1_500, 3);
        assert!(t.is_rescaling());
        assert_eq!(t.cumulative_ms(1_800), 900);
        t.count_changed(2_000, 4);
        assert!(!t.is_rescaling());
        assert_eq!(t.cumulative_ms(5_000), 1_100);
    }

    #[test]
    fn lost_executor_opens_until_replaced() {
        let mut t = RescalingTimeline::new(None);
        t.count_changed(0, 3);
        assert_eq!(
            t.cumulative_ms(10),
            0,
            "no aim known: changes are instantaneous"
        );
        t.requested(100, 3);
        assert!(!t.is_rescaling());
        t.count_changed(200, 2);
        t.count_changed(700, 3);
        assert_eq!(t.cumulative_ms(1_000), 500);
    }

    #[test]
    fn window_ratio() {
        let mut t = RescalingTimeline::new(Some(1));
        t.count_changed(0, 1);
        let start = Mark::at(&t, 0);
        t.requested(250, 2);
        t.count_changed(750, 2);
        let end = Mark::at(&t, 1_000);
        assert_eq!(start.ratio_until(end), 0.5);
        assert_eq!(end.ratio_until(end), 0.0);
    }
}
