//! The reference runtime model of each job, hidden from the policies: it only carries the
//! *effect of the scale-out* into the simulation. Three variants, each with its own bias
//! (docs/EVALUATION.md).

use std::collections::BTreeMap;

use crate::model::Ernest;
use crate::stats::{durations_by_job, median_per_scale_out};
use crate::trace::{TraceJob, TraceRun};

/// Which runs the reference is fitted on, and what it says beyond the scale-outs they cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Reference {
    /// Every run of the trace; the fitted curve extrapolated beyond the recorded scale-outs.
    #[default]
    Fit,
    /// Every run; beyond the recorded scale-outs, the curve's value at the nearest one (no
    /// effect beyond the evidence).
    Hold,
    /// The profiling runs only, whose scale-outs were set from outside: no bias from a
    /// controller that scaled slow runs up and fast runs down, but few points per job.
    Profiling,
}

/// Per job id: Ernest fitted on the median duration at each recorded scale-out (medians keep
/// the rare very slow runs from bending the curve), or none when the job was seen at fewer
/// than three scale-outs (then the scale-out has no modelled effect).
pub struct ReferenceModels {
    models: BTreeMap<i64, JobModel>,
    hold_outside: bool,
}

struct JobModel {
    curve: Ernest,
    /// The smallest and largest scale-out the job was recorded at.
    recorded: (u32, u32),
}

impl ReferenceModels {
    pub fn fit(runs: &[TraceRun]) -> ReferenceModels {
        ReferenceModels::of(Reference::Fit, runs, 0)
    }

    /// The `variant` for a trace whose first `profiling_runs` runs are the profiling runs.
    pub fn of(variant: Reference, runs: &[TraceRun], profiling_runs: usize) -> ReferenceModels {
        let fitted_on = match variant {
            Reference::Fit | Reference::Hold => runs,
            Reference::Profiling => &runs[..profiling_runs.min(runs.len())],
        };
        ReferenceModels {
            models: fit_jobs(fitted_on),
            hold_outside: variant == Reference::Hold,
        }
    }

    /// The recorded job's duration carried to scale-out `s`.
    pub fn duration_at(&self, job: &TraceJob, s: u32) -> f64 {
        job.duration_ms as f64 * self.factor(job.job_id, job.scale_out, s)
    }

    /// How much longer job `job_id` takes at `to` executors than at `from`.
    pub fn factor(&self, job_id: i64, from: u32, to: u32) -> f64 {
        if from == to {
            return 1.0;
        }
        let Some(model) = self.models.get(&job_id) else {
            return 1.0;
        };
        let (from, to) = if self.hold_outside {
            let (lowest, highest) = model.recorded;
            (from.clamp(lowest, highest), to.clamp(lowest, highest))
        } else {
            (from, to)
        };
        let (at_from, at_to) = (
            model.curve.predict(f64::from(from.max(1))),
            model.curve.predict(f64::from(to.max(1))),
        );
        if at_from > 0.0 && at_to > 0.0 {
            at_to / at_from
        } else {
            1.0
        }
    }
}

/// Per job id: Ernest on the median duration at each scale-out the job was recorded at in
/// `runs`; none for a job seen at fewer than three.
fn fit_jobs(runs: &[TraceRun]) -> BTreeMap<i64, JobModel> {
    let jobs = runs.iter().flat_map(|r| &r.jobs);
    durations_by_job(jobs.map(|j| (j.job_id, j.scale_out, j.duration_ms as f64)))
        .into_iter()
        .filter_map(|(job_id, durations)| {
            let points = median_per_scale_out(&durations);
            if points.len() < 3 {
                return None;
            }
            let recorded = (points[0].0, points[points.len() - 1].0);
            let (xs, ys): (Vec<f64>, Vec<f64>) = points
                .into_iter()
                .map(|(s, median)| (f64::from(s.max(1)), median))
                .unzip();
            let model = JobModel {
                curve: Ernest::fit(&xs, &ys),
                recorded,
            };
            Some((job_id, model))
        })
        .collect()
}
