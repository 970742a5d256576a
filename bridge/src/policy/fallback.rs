//! The initial scale-out of an adaptive run when there are too few earlier runs for models
//! (Ellis's documented fallbacks, docs/ELLIS.md). Ellis and `pacer` differ only in how they
//! judge whether the slower of two earlier runs met the target: [`SlowerRun`].

use super::{Decision, RunSpec};
use crate::history::RunRecord;

/// How the slower of two earlier runs is measured against the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlowerRun {
    /// Ellis: the sum of its job durations, strictly below the target.
    JobTimeBelowTarget,
    /// `pacer`: its whole runtime (non-job time included), at most the target.
    RuntimeWithinTarget,
}

/// No earlier run: the maximum; one: the middle of the range; two: the lower quarter if the
/// slower one met the target, else the upper quarter. `earlier` holds fewer than three runs.
pub fn fallback(run: &RunSpec, earlier: &[&RunRecord], rule: SlowerRun) -> Decision {
    let range = run.range;
    let half = range.midpoint();
    match earlier {
        [] => Decision::new(range.max, "no earlier runs: maximum scale-out"),
        [_] => Decision::new(half, "one earlier run: middle of the range"),
        _ => {
            let (met, reason_met, reason_missed) = match rule {
                SlowerRun::JobTimeBelowTarget => {
                    let slowest = earlier.iter().map(|r| r.total_job_time_ms()).max();
                    (
                        slowest.unwrap_or(0) < run.target_ms,
                        "two earlier runs, the slower one's job time below the target: lower quarter",
                        "two earlier runs, the slower one's job time not below the target: upper quarter",
                    )
                }
                SlowerRun::RuntimeWithinTarget => {
                    let slowest = earlier.iter().map(|r| r.runtime_ms).max();
                    (
                        slowest.unwrap_or(0) <= run.target_ms,
                        "two earlier runs, the slower one's runtime within the target: lower quarter",
                        "two earlier runs, the slower one's runtime over the target: upper quarter",
                    )
                }
            };
            if met {
                Decision::new((range.min + half) / 2, reason_met)
            } else {
                Decision::new((half + range.max) / 2, reason_missed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{JobRecord, ScaleOutRange};

    fn run_of(runtime_ms: i64, job_time_ms: i64) -> RunRecord {
        RunRecord {
            app_event_id: "1".into(),
            is_adaptive: false,
            start_ms: 0,
            runtime_ms,
            target_ms: 0,
            jobs: vec![JobRecord {
                job_id: 0,
                scale_out: 8,
                duration_ms: job_time_ms,
            }],
        }
    }

    #[test]
    fn the_two_rules_differ_at_the_target_and_in_what_they_measure() {
        let spec = RunSpec {
            app_name: "a".into(),
            is_adaptive: true,
            target_ms: 1_000,
            range: ScaleOutRange::new(4, 36),
            start_ms: 0,
        };
        let decide = |runtime, job_time, rule| {
            let (a, b) = (run_of(500, 400), run_of(runtime, job_time));
            fallback(&spec, &[&a, &b], rule)
        };
        let lower = (4 + 20) / 2;
        let upper = (20 + 36) / 2;
        // Exactly at the target: met for pacer, not for Ellis.
        let ellis = decide(1_000, 1_000, SlowerRun::JobTimeBelowTarget);
        let pacer = decide(1_000, 1_000, SlowerRun::RuntimeWithinTarget);
        assert_eq!((ellis.scale_out, pacer.scale_out), (upper, lower));
        assert_ne!(ellis.reason, pacer.reason);
        // Jobs within the target but the runtime over it: met for Ellis only.
        let ellis = decide(1_200, 900, SlowerRun::JobTimeBelowTarget);
        let pacer = decide(1_200, 900, SlowerRun::RuntimeWithinTarget);
        assert_eq!((ellis.scale_out, pacer.scale_out), (lower, upper));
        assert_eq!(
            fallback(&spec, &[], SlowerRun::RuntimeWithinTarget).scale_out,
            36
        );
        let one = run_of(1, 1);
        assert_eq!(
            fallback(&spec, &[&one], SlowerRun::JobTimeBelowTarget).scale_out,
            20
        );
    }
}
