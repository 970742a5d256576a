//! Counterfactual replay of one recorded run under a policy (docs/EVALUATION.md).
//!
//! The run keeps its own speed: job `j`, recorded at scale-out `s` with duration `d`, takes
//! `d · m_j(s') / m_j(s)` at scale-out `s'` (m_j: the hidden reference model). Gaps between
//! jobs (driver work) keep their recorded length. A scale-up takes effect after the actuation
//! delay (jittered by ±25 %, from the seed); a scale-down at once (idle executors are released
//! at the job boundary where it is decided). A job running while the scale-out changes is
//! pro-rated between the old and the new scale-out. A job's recorded scale-out follows the
//! policy's definition ([`JobScaleOut`]) from the executors at its start and end, as the live
//! bridge derives it from JOB_START and JOB_END.

use std::collections::VecDeque;

use super::reference::ReferenceModels;
use crate::history::{JobRecord, JobScaleOut, ScaleOutRange};
use crate::policy::{JobEnded, RunPlan};
use crate::rng::Rng;
use crate::trace::TraceRun;

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub runtime_ms: f64,
    /// ∫ executors dt over the whole run, in executor-milliseconds.
    pub executor_ms: f64,
    pub rescalings: u32,
    /// The initial scale-out and each one decided after it.
    pub scale_outs: Vec<u32>,
    /// The jobs as they ran in the replay (scale-out by the policy's definition, replayed
    /// duration).
    pub jobs: Vec<JobRecord>,
}

/// The recorded time before each job (after the previous one) and after the last job.
pub fn gaps(run: &TraceRun) -> (Vec<f64>, f64) {
    let mut previous_end = run.start_ms;
    let gaps = run
        .jobs
        .iter()
        .map(|job| {
            let gap = (job.start_ms - previous_end).max(0) as f64;
            previous_end = previous_end.max(job.end_ms);
            gap
        })
        .collect();
    (gaps, (run.end_ms - previous_end).max(0) as f64)
}

/// The scale-out over time: the one in force and the changes still to come.
struct Timeline {
    now: f64,
    in_force: u32,
    upcoming: VecDeque<(f64, u32)>,
    executor_ms: f64,
}

impl Timeline {
    fn next_change(&self) -> f64 {
        self.upcoming.front().map_or(f64::INFINITY, |c| c.0)
    }

    fn apply_due(&mut self) {
        while let Some(&(at, s)) = self.upcoming.front() {
            if at > self.now {
                break;
            }
            self.in_force = s;
            self.upcoming.pop_front();
        }
    }

    /// Lets `duration` pass (no job running).
    fn wait(&mut self, duration: f64) {
        let end = self.now + duration;
        loop {
            self.apply_due();
            let until = self.next_change().min(end);
            self.executor_ms += f64::from(self.in_force) * (until - self.now);
            self.now = until;
            if self.now >= end {
                return;
            }
        }
    }

    /// Runs a job whose duration at scale-out `s` is `duration_at(s)`; returns the executors
    /// at its start.
    fn run_job(&mut self, duration_at: impl Fn(u32) -> f64) -> u32 {
        self.apply_due();
        let at_start = self.in_force;
        let mut left = 1.0; // fraction of the job's work
        loop {
            self.apply_due();
            let duration = duration_at(self.in_force).max(1e-9);
            let needed = left * duration;
            let change = self.next_change();
            let step = if self.now + needed <= change {
                needed
            } else {
                change - self.now
            };
            self.executor_ms += f64::from(self.in_force) * step;
            self.now += step;
            left -= step / duration;
            if step >= needed {
                return at_start;
            }
        }
    }

    /// A scale-up arrives after the delay, while executors requested earlier keep starting; a
    /// scale-down applies at once and cancels what was still starting.
    fn schedule(&mut self, at: f64, s: u32) {
        if at <= self.now {
            self.upcoming.clear();
            self.in_force = s;
        } else {
            // Earlier changes still apply first; any due after this one are superseded.
            self.upcoming.retain(|change| change.0 < at);
            self.upcoming.push_back((at, s));
        }
    }
}

/// How a replayed run is simulated: the policy's definition of a job's scale-out, the range
/// and the actuation delay of scale-ups.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub job_scale_out: JobScaleOut,
    pub range: ScaleOutRange,
    pub actuation_delay_ms: f64,
}

pub fn simulate(
    run: &TraceRun,
    reference: &ReferenceModels,
    plan: &mut dyn RunPlan,
    setting: Setting,
    rng: &mut Rng,
) -> Outcome {
    let Setting {
        job_scale_out,
        range,
        actuation_delay_ms,
    } = setting;
    let (gaps, tail) = gaps(run);
    let first = plan.initial();
    let initial = range.clamp(i64::from(first.scale_out));
    log::debug!(
        "run {} starts at {}: {}",
        run.app_event_id,
        initial,
        first.reason
    );
    let mut timeline = Timeline {
        now: 0.0,
        in_force: initial,
        upcoming: VecDeque::new(),
        executor_ms: 0.0,
    };
    let mut target = initial;
    let mut rescalings = 0;
    let mut scale_outs = vec![initial];
    let mut jobs_done: Vec<JobRecord> = Vec::with_capacity(run.jobs.len());
    for (job, gap) in run.jobs.iter().zip(gaps) {
        timeline.wait(gap);
        let started = timeline.now;
        let at_start = timeline.run_job(|s| reference.duration_at(job, s));
        let at_end = timeline.in_force;
        jobs_done.push(JobRecord {
            job_id: job.job_id,
            scale_out: job_scale_out
                .of(Some(i64::from(at_start)), Some(i64::from(at_end)))
                .unwrap_or(at_end),
            duration_ms: (timeline.now - started).round() as i64,
        });
        let ended = JobEnded {
            job_id: job.job_id,
            end_ms: run.start_ms + timeline.now.round() as i64,
            current_scale_out: target,
            num_executors: at_end,
            jobs_done: &jobs_done,
        };
        if let Some(decision) = plan.after_job(&ended) {
            let next = range.clamp(i64::from(decision.scale_out));
            if next != target {
                log::debug!(
                    "run {} after job {} at {:.0} ms: {} → {}: {}",
                    run.app_event_id,
                    job.job_id,
                    timeline.now,
                    target,
                    next,
                    decision.reason
                );
                let delay = if next > timeline.in_force {
                    actuation_delay_ms * (0.75 + 0.5 * rng.unit())
                } else {
                    0.0
                };
                timeline.schedule(timeline.now + delay, next);
                target = next;
                rescalings += 1;
                scale_outs.push(next);
            }
        }
    }
    timeline.wait(tail);
    plan.finished(run.start_ms + timeline.now.round() as i64);
    Outcome {
        runtime_ms: timeline.now,
        executor_ms: timeline.executor_ms,
        rescalings,
        scale_outs,
        jobs: jobs_done,
    }
}
