//! What `runs --run` and the live view's pages show of a run, computed from what the bridge
//! recorded: executors over time (the `num_executors` of each event), executor-minutes,
//! rescalings, the outcome, times since the start, how far each prediction was from the end.

use crate::store::{RunDetail, RunJob};

/// A run as the pages show it. Times are epoch milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    pub detail: RunDetail,
    /// (time, executors from then on), in time order, from the start to `until_ms`.
    pub executors: Vec<(i64, u32)>,
    /// The end, or the last event while the run is in progress.
    pub until_ms: i64,
    pub executor_minutes: f64,
    /// Recommendations after the start that changed the scale-out.
    pub rescalings: usize,
}

impl RunView {
    pub fn of(detail: RunDetail) -> RunView {
        let start = detail.summary.start_ms;
        let mut points: Vec<(i64, u32)> = Vec::new();
        for job in &detail.jobs {
            for (time, scale_out) in [
                (job.start_ms, job.start_scale_out),
                (job.end_ms, job.end_scale_out),
            ] {
                if let (Some(t), Some(n)) = (time, scale_out) {
                    points.push((t, n.max(0) as u32));
                }
            }
        }
        if let (Some(end), Some(n)) = (detail.summary.end_ms, detail.final_scale_out) {
            points.push((end, n.max(0) as u32));
        }
        points.sort_by_key(|p| p.0);
        let last_event = points.last().map_or(start, |p| p.0);
        let until_ms = detail.summary.end_ms.unwrap_or(last_event).max(start);
        // Until the first report the count is unknown: take the first one as the start's.
        let first = points.first().map_or(0, |p| p.1);
        let mut executors = vec![(start, first)];
        for (t, n) in points {
            let t = t.clamp(start, until_ms);
            if executors.last().is_some_and(|last| last.1 == n) {
                continue;
            }
            executors.push((t, n));
        }
        let executor_ms: f64 = executors
            .iter()
            .zip(executors.iter().skip(1).map(|p| p.0).chain([until_ms]))
            .map(|(&(t, n), next)| f64::from(n) * (next - t) as f64)
            .sum();
        let rescalings = detail
            .decisions
            .iter()
            .filter(|d| d.event_type != "APPLICATION_START")
            .filter(|d| d.from_scale_out != Some(d.to_scale_out))
            .count();
        RunView {
            detail,
            executors,
            until_ms,
            executor_minutes: executor_ms / 60_000.0,
            rescalings,
        }
    }

    /// `ms` (epoch milliseconds) as milliseconds since the run started.
    pub fn since_start(&self, ms: i64) -> i64 {
        ms - self.detail.summary.start_ms
    }

    /// The end the bridge predicted after `job` minus the actual end, in ms (positive: it
    /// predicted a later end); None without a prediction or while the run is in progress.
    pub fn prediction_error_ms(&self, job: &RunJob) -> Option<i64> {
        Some(job.predicted_end_ms? - self.detail.summary.end_ms?)
    }

    pub fn is_running(&self) -> bool {
        self.detail.summary.end_ms.is_none()
    }

    /// "met", "missed", "running" or "profiling".
    pub fn outcome(&self) -> &'static str {
        match (self.is_running(), self.detail.summary.met_target()) {
            (true, _) => "running",
            (false, Some(true)) => "met",
            (false, Some(false)) => "missed",
            (false, None) => "profiling",
        }
    }
}

impl RunJob {
    /// None until the job has both started and ended.
    pub fn duration_ms(&self) -> Option<i64> {
        Some(self.end_ms? - self.start_ms?)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::runs::RunSummary;
    use crate::store::{RunDecision, RunJob};

    pub(crate) fn detail(end_ms: Option<i64>) -> RunDetail {
        let job = |job_id, start, end, a, b| RunJob {
            job_id,
            start_ms: Some(start),
            end_ms: end,
            start_scale_out: Some(a),
            end_scale_out: b,
            predicted_end_ms: None,
        };
        let decision = |event_type: &str, from, to| RunDecision {
            time_ms: 0,
            event_type: event_type.into(),
            job_id: None,
            from_scale_out: from,
            to_scale_out: to,
            reason: String::new(),
        };
        RunDetail {
            summary: RunSummary {
                app_event_id: "7".into(),
                app_name: "A".into(),
                is_adaptive: true,
                start_ms: 1_000,
                end_ms,
                target_runtime_ms: 100_000,
                scale_outs: vec![2, 4],
                policy: "pacer".into(),
            },
            final_scale_out: end_ms.map(|_| 4),
            jobs: vec![
                job(0, 2_000, Some(61_000), 2, Some(2)),
                job(1, 62_000, Some(121_000), 4, Some(4)),
            ],
            decisions: vec![
                decision("APPLICATION_START", None, 2),
                decision("JOB_END", Some(2), 4),
                decision("JOB_END", Some(4), 4),
            ],
        }
    }

    #[test]
    fn executors_over_time_and_executor_minutes() {
        let view = RunView::of(detail(Some(121_000)));
        assert_eq!(view.executors, [(1_000, 2), (62_000, 4)]);
        // 2 executors for 61 s, 4 for 59 s.
        assert!((view.executor_minutes - (2.0 * 61.0 + 4.0 * 59.0) / 60.0).abs() < 1e-9);
        assert_eq!(view.rescalings, 1);
        assert_eq!(view.outcome(), "missed");
        assert_eq!(view.since_start(62_000), 61_000);
        assert_eq!(view.detail.jobs[1].duration_ms(), Some(59_000));
    }

    #[test]
    fn a_prediction_error_needs_a_prediction_and_an_end() {
        let mut d = detail(Some(121_000));
        d.jobs[0].predicted_end_ms = Some(130_000);
        let view = RunView::of(d.clone());
        assert_eq!(view.prediction_error_ms(&view.detail.jobs[0]), Some(9_000));
        assert_eq!(view.prediction_error_ms(&view.detail.jobs[1]), None);
        d.summary.end_ms = None;
        let view = RunView::of(d);
        assert_eq!(view.prediction_error_ms(&view.detail.jobs[0]), None);
    }

    #[test]
    fn a_running_run_ends_at_its_last_event() {
        let mut d = detail(None);
        d.jobs[1].end_ms = None;
        d.jobs[1].end_scale_out = None;
        let view = RunView::of(d);
        assert_eq!(view.until_ms, 62_000);
        assert_eq!(view.outcome(), "running");
        assert!(view.is_running());
    }
}
