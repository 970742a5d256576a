//! Ellis (Thamsen et al., CloudCom 2017) as described in docs/ELLIS.md: the published
//! algorithm (`ellis`) and what the deployed Python bridge decides (`ellis-abe`).

use std::collections::BTreeMap;

use super::{
    start_without_models, Decision, JobEnded, Policy, Profiling, RunPlan, RunSpec, SlowerRun,
    MIN_MODEL_RUNS,
};
use crate::history::{RunRecord, ScaleOutRange};
use crate::model::{ellis_predictions, Interpolation};
use crate::stats::durations_by_job;

const SLACK_UP: f64 = 1.05;
const SLACK_DOWN: f64 = 0.85;
const PLAN_MARGIN: f64 = 0.9;

/// Decision rules, model choice and integer predictions as in the authors' implementation;
/// the two variants differ only in the fields below.
pub struct Ellis {
    name: &'static str,
    interpolation: Interpolation,
    /// Earlier non-adaptive runs needed to re-plan after jobs.
    replan_runs: usize,
    profiling: Profiling,
}

impl Ellis {
    /// The published algorithm: Bell inside the observed scale-outs, re-planning whenever the
    /// run was planned with models.
    pub fn published() -> Ellis {
        Ellis {
            name: "ellis",
            interpolation: Interpolation::Bell,
            replan_runs: MIN_MODEL_RUNS,
            profiling: Profiling::default(),
        }
    }

    /// The deployed Python bridge (jnsrnhld/automated-benchmarking-env): its Bell fit always
    /// fails, so Ernest predicts at every scale-out, and it re-plans only with more than three
    /// non-adaptive earlier runs.
    pub fn deployed() -> Ellis {
        Ellis {
            name: "ellis-abe",
            interpolation: Interpolation::Ernest,
            replan_runs: MIN_MODEL_RUNS + 1,
            profiling: Profiling::default(),
        }
    }

    pub fn with_profiling(self, profiling: Profiling) -> Ellis {
        Ellis { profiling, ..self }
    }
}

/// Predicted duration of each known job (by job id) at every scale-out of the range.
type Predictions = BTreeMap<i64, Vec<f64>>;

struct EllisPlan {
    spec: RunSpec,
    initial: Decision,
    predictions: Predictions,
    replans: bool,
}

impl Policy for Ellis {
    fn name(&self) -> String {
        self.name.into()
    }

    /// After a job, Ellis sums predictions computed at the start of the run.
    fn cheap_decisions(&self) -> bool {
        true
    }

    fn start_run(&self, run: &RunSpec, history: &[RunRecord]) -> Box<dyn RunPlan> {
        // Ellis's definition of a non-adaptive run: all its jobs ran at one scale-out.
        let fixed: Vec<&RunRecord> = history.iter().filter(|r| r.is_fixed_scale_out()).collect();
        if let Some(plan) = start_without_models(
            run,
            history,
            &fixed,
            SlowerRun::JobTimeBelowTarget,
            self.profiling,
        ) {
            return plan;
        }
        let predictions = predict_jobs(history, run.range, self.interpolation);
        let initial = initial_from_models(run, &predictions);
        Box::new(EllisPlan {
            spec: run.clone(),
            initial,
            predictions,
            replans: fixed.len() >= self.replan_runs,
        })
    }
}

fn predict_jobs(
    history: &[RunRecord],
    range: ScaleOutRange,
    interpolation: Interpolation,
) -> Predictions {
    let jobs = history.iter().flat_map(|r| &r.jobs);
    durations_by_job(jobs.map(|j| (j.job_id, j.scale_out, j.duration_ms as f64)))
        .into_iter()
        .map(|(job_id, durations)| {
            let points: Vec<(f64, f64)> = durations
                .into_iter()
                .map(|(s, d)| (f64::from(s), d))
                .collect();
            let mut predicted = ellis_predictions(&points, range, interpolation);
            predicted.iter_mut().for_each(|p| *p = p.trunc());
            (job_id, predicted)
        })
        .collect()
}

fn initial_from_models(run: &RunSpec, predictions: &Predictions) -> Decision {
    let range = run.range;
    let totals: Vec<f64> = (0..range.len())
        .map(|i| predictions.values().map(|p| p[i]).sum())
        .collect();
    let target = run.target_ms as f64;
    match (0..range.len()).find(|&i| totals[i] < target) {
        Some(i) => Decision::new(
            range.at(i),
            format!(
                "smallest scale-out predicted to meet the target ({:.0} ms)",
                totals[i]
            ),
        ),
        None => {
            let i = argmin(&totals);
            Decision::new(
                range.at(i),
                format!(
                    "no scale-out meets the target: fastest predicted ({:.0} ms)",
                    totals[i]
                ),
            )
        }
    }
}

fn argmin(values: &[f64]) -> usize {
    (0..values.len())
        .min_by(|&a, &b| values[a].total_cmp(&values[b]))
        .unwrap_or(0)
}

impl RunPlan for EllisPlan {
    fn initial(&self) -> Decision {
        self.initial.clone()
    }

    fn after_job(&mut self, ended: &JobEnded<'_>) -> Option<Decision> {
        let range = self.spec.range;
        let upcoming: Vec<&Vec<f64>> = self
            .predictions
            .range(ended.job_id + 1..)
            .map(|(_, p)| p)
            .collect();
        if !self.replans || upcoming.len() <= 1 {
            return None;
        }
        // The original plans from what the application has, not from its own last target.
        let current = range.index(ended.num_executors);
        let elapsed = (ended.end_ms - self.spec.start_ms) as f64;
        let remaining = self.spec.target_ms as f64 - elapsed - upcoming[0][current];
        let future: Vec<f64> = (0..range.len())
            .map(|i| upcoming[1..].iter().map(|p| p[i]).sum())
            .collect();
        let choose = || {
            (0..range.len())
                .find(|&i| future[i] < remaining * PLAN_MARGIN)
                .unwrap_or_else(|| argmin(&future))
        };
        if future[current] > remaining * SLACK_UP {
            let next = choose();
            (next != current).then(|| {
                Decision::new(
                    range.at(next),
                    format!(
                        "behind: {:.0} ms predicted for the remaining jobs, {:.0} ms left",
                        future[current], remaining
                    ),
                )
            })
        } else if future[current] < remaining * SLACK_DOWN {
            let next = choose();
            (next < current).then(|| {
                Decision::new(
                    range.at(next),
                    format!(
                        "ahead: {:.0} ms predicted for the remaining jobs, {:.0} ms left",
                        future[current], remaining
                    ),
                )
            })
        } else {
            None
        }
    }

    fn predicted_end_ms(&self, ended: &JobEnded<'_>, scale_out: u32) -> Option<i64> {
        let i = self.spec.range.index(scale_out);
        let upcoming: f64 = self
            .predictions
            .range(ended.job_id + 1..)
            .map(|(_, p)| p[i])
            .sum();
        Some(ended.end_ms + upcoming as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::JobRecord;

    fn spec(is_adaptive: bool, target_ms: i64) -> RunSpec {
        RunSpec {
            app_name: "app".into(),
            is_adaptive,
            target_ms,
            range: ScaleOutRange::new(4, 36),
            start_ms: 0,
        }
    }

    /// A run whose jobs follow `duration(job, s)` at a fixed scale-out `s`.
    fn run(id: usize, s: u32, jobs: i64, duration: impl Fn(i64, f64) -> f64) -> RunRecord {
        let jobs: Vec<JobRecord> = (0..jobs)
            .map(|j| JobRecord {
                job_id: j,
                scale_out: s,
                duration_ms: duration(j, f64::from(s)) as i64,
            })
            .collect();
        RunRecord {
            app_event_id: id.to_string(),
            is_adaptive: false,
            start_ms: 0,
            runtime_ms: jobs.iter().map(|j| j.duration_ms).sum(),
            target_ms: 0,
            jobs,
        }
    }

    /// Ten jobs of 60 s · 8 / s each: 10 jobs at 8 executors take 600 s.
    fn synthetic(job: i64, s: f64) -> f64 {
        let _ = job;
        60_000.0 * 8.0 / s
    }

    fn history(scale_outs: &[u32]) -> Vec<RunRecord> {
        scale_outs
            .iter()
            .enumerate()
            .map(|(i, &s)| run(i, s, 10, synthetic))
            .collect()
    }

    #[test]
    fn profiling_runs_explore() {
        let policy = Ellis::published();
        let first = policy.start_run(&spec(false, 0), &[]).initial();
        let second = policy.start_run(&spec(false, 0), &history(&[4])).initial();
        assert_eq!((first.scale_out, second.scale_out), (4, 36));
    }

    #[test]
    fn fallbacks_without_enough_history() {
        let policy = Ellis::published();
        let s =
            |h: &[RunRecord], target| policy.start_run(&spec(true, target), h).initial().scale_out;
        assert_eq!(s(&[], 1_000), 36);
        assert_eq!(s(&history(&[8]), 1_000), 20);
        // Two runs at 8 and 16 executors: 600 s and 300 s.
        assert_eq!(
            s(&history(&[8, 16]), 700_000),
            (4 + 20) / 2,
            "slower one's job time below the target"
        );
        assert_eq!(
            s(&history(&[8, 16]), 500_000),
            (20 + 36) / 2,
            "slower one's job time above the target"
        );
    }

    #[test]
    fn initial_scale_out_is_the_smallest_meeting_the_target() {
        let policy = Ellis::published();
        let h = history(&[4, 8, 12, 16, 24, 36]);
        // Total = 4_800_000 / s ms: meeting 390 s needs s > 12.3.
        let decision = policy.start_run(&spec(true, 390_000), &h).initial();
        assert_eq!(decision.scale_out, 13, "{decision:?}");
        let impossible = policy.start_run(&spec(true, 10_000), &h).initial();
        assert_eq!(
            impossible.scale_out, 36,
            "fastest when the target cannot be met"
        );
    }

    #[test]
    fn replans_up_when_behind_and_down_when_ahead() {
        let policy = Ellis::published();
        let h = history(&[4, 8, 12, 16, 24, 36]);
        let mut plan = policy.start_run(&spec(true, 400_000), &h);
        let jobs = [JobRecord {
            job_id: 0,
            scale_out: 13,
            duration_ms: 0,
        }];
        // Job 0 took far longer than predicted: 200 s gone, 9 jobs left.
        let behind = JobEnded {
            job_id: 0,
            end_ms: 200_000,
            current_scale_out: 13,
            num_executors: 13,
            jobs_done: &jobs,
        };
        let up = plan.after_job(&behind).expect("scale up");
        // rem = 400 − 200 − 36.9 = 163.1 s; future(s) = 8 · 480 000 / s < 0.9 · rem → s ≥ 27.
        assert_eq!(up.scale_out, 27, "{up:?}");
        // Far ahead: 9 jobs left and almost all the time available: scale down.
        let ahead = JobEnded {
            job_id: 0,
            end_ms: 1_000,
            current_scale_out: 36,
            num_executors: 36,
            jobs_done: &jobs,
        };
        let down = plan.after_job(&ahead).expect("scale down");
        assert!(down.scale_out < 36, "{down:?}");
        // On track: keep.
        let on_track = JobEnded {
            job_id: 0,
            end_ms: 36_900,
            current_scale_out: 13,
            num_executors: 13,
            jobs_done: &jobs,
        };
        assert_eq!(plan.after_job(&on_track), None);
        // The same moment with 36 executors really there (the target of 13 not yet applied):
        // Ellis plans from what the application has, and scales down.
        let really_36 = JobEnded {
            num_executors: 36,
            ..on_track
        };
        let down = plan.after_job(&really_36).expect("planned from 36");
        assert!(down.scale_out < 36, "{down:?}");
        // At most one job left: keep.
        let late = JobEnded {
            job_id: 8,
            end_ms: 390_000,
            current_scale_out: 13,
            num_executors: 13,
            jobs_done: &jobs,
        };
        assert_eq!(plan.after_job(&late), None);
    }

    #[test]
    fn the_deployed_variant_replans_only_with_more_than_three_non_adaptive_runs() {
        let jobs = [JobRecord {
            job_id: 0,
            scale_out: 13,
            duration_ms: 0,
        }];
        // Far behind after job 0: any plan that re-plans scales up.
        let behind = JobEnded {
            job_id: 0,
            end_ms: 200_000,
            current_scale_out: 13,
            num_executors: 13,
            jobs_done: &jobs,
        };
        let replans = |policy: Ellis, scale_outs: &[u32]| {
            policy
                .start_run(&spec(true, 400_000), &history(scale_outs))
                .after_job(&behind)
                .is_some()
        };
        assert!(replans(Ellis::published(), &[4, 20, 36]));
        assert!(!replans(Ellis::deployed(), &[4, 20, 36]));
        assert!(replans(Ellis::deployed(), &[4, 12, 20, 36]));
    }

    #[test]
    fn the_deployed_variant_predicts_with_ernest_inside_the_observed_scale_outs() {
        // Seven scale-outs, an irregular curve: Bell would be chosen by cross-validation.
        let irregular = |job: i64, s: f64| synthetic(job, s) * (1.0 + 0.3 * (s / 3.0).sin());
        let scale_outs = [4, 8, 12, 16, 20, 28, 36];
        let h: Vec<RunRecord> = scale_outs
            .iter()
            .enumerate()
            .map(|(i, &s)| run(i, s, 1, irregular))
            .collect();
        let xs: Vec<f64> = h.iter().map(|r| f64::from(r.jobs[0].scale_out)).collect();
        let ys: Vec<f64> = h.iter().map(|r| r.jobs[0].duration_ms as f64).collect();
        let ernest = crate::model::Ernest::fit(&xs, &ys);
        let range = ScaleOutRange::new(4, 36);
        let expected: Vec<f64> = range
            .values()
            .map(|s| ernest.predict(f64::from(s)).trunc())
            .collect();
        assert_eq!(predict_jobs(&h, range, Interpolation::Ernest)[&0], expected);
        assert_eq!(Ellis::deployed().name(), "ellis-abe");
    }

    #[test]
    fn profiling_runs_never_replan() {
        let policy = Ellis::published();
        let mut plan = policy.start_run(&spec(false, 0), &history(&[4, 8, 12]));
        let ended = JobEnded {
            job_id: 0,
            end_ms: 1_000_000,
            current_scale_out: 12,
            num_executors: 12,
            jobs_done: &[],
        };
        assert_eq!(plan.after_job(&ended), None);
    }
}
