//! `pacer`: Pacer's own policy (docs/POLICY.md).
//!
//! It plans like Ellis — a runtime model per job, the smallest scale-out that meets the target —
//! but plans for the run at hand rather than for the average run:
//!
//! - **Non-job time counts.** Time between jobs and around them (driver work) is part of the
//!   runtime; it is learned from history.
//! - **Smooth curves.** Each job's curve is Ernest's four terms fitted on the median duration
//!   at each scale-out of the history: with one or a few runs per scale-out, a curve through
//!   every point would follow each run's speed.
//! - **The run's own speed.** Runs of one application differ by up to 3× at equal scale-out.
//!   After every job the finished jobs' actual/predicted ratio (shrunk towards 1 early on)
//!   rescales the predictions of the remaining jobs.
//! - **The model's own errors.** Replaying each earlier run through predictions fitted without
//!   it (5-fold cross-validation) gives, for every point of progress, how far "what remained"
//!   exceeded "what was predicted to remain". Plans correct the predictions by the median of
//!   those errors, and their spread says which scale-outs the model cannot tell apart.
//! - **Price of speed.** A run that cannot meet its target gets the scale-out with the least
//!   executor-minutes plus minutes late, a minute late priced at a minute of the maximum
//!   scale-out: not the largest, unless executors added still pay for themselves.
//!   After a job, a run short of its target at the median but within it at the lower quartile
//!   has a fair chance and gets the scale-out, no slower than the current one, most likely to
//!   meet it by the model's own errors (the smallest of equals): the fastest, unless fewer
//!   executors have the same chance.
//! - **Actuation delay.** A scale-up helps only once the executors are up; until then the run
//!   goes on at the current scale-out.
//! - **Hysteresis.** Scaling down needs a stricter percentile (95th) than keeping, so a run
//!   does not flap between two scale-outs.

use std::borrow::Cow;
use std::sync::OnceLock;

use super::{
    start_without_models, Decision, JobEnded, Policy, Profiling, RunPlan, RunSpec, SlowerRun,
    MIN_MODEL_RUNS,
};
use crate::history::{JobRecord, JobScaleOut, RunRecord, ScaleOutRange};
use crate::model::{ellis_predictions, Interpolation, JobCells};
use crate::stats::{median_in_place, quantile, quantile_sorted};

/// Runs are planned to meet the target at this percentile of the model's errors: the
/// expected run, corrected for its own speed (see docs/POLICY.md for why not higher).
const PLAN_AT: f64 = 0.5;
/// A run short of its target at the median but within it at this percentile of the errors
/// (the lower quartile, the other side of the spread that makes scale-outs "nearly as fast")
/// has a fair chance: it gets the likeliest scale-out rather than a cheap one.
const FAIR_CHANCE: f64 = 0.25;
/// Scaling down needs this stricter percentile.
const CONFIDENCE_DOWN: f64 = 0.95;
/// Two predicted times closer than the spread of the model's own errors (p75 over p50), and at
/// least this, cannot be told apart by a few jobs (the scale-up trial's noise check).
const NEARLY_AS_FAST: f64 = 1.10;
/// Changes not forced by the target (scaling down, or moving within a lost run) must change
/// the scale-out by at least this share: every rescaling costs executor starts and churn.
const MIN_CHANGE: f64 = 0.15;
/// Assumed time for new executors to start and take work.
const ACTUATION_DELAY_MS: f64 = 20_000.0;
/// A scale-up is judged on this many jobs run wholly at its new scale-out: the median of three
/// is not swayed by one straggler.
const TRIAL_JOBS: usize = 3;
/// A scale-up that bought less than this share of the time the model promised did not pay
/// (half: the boundary between "the scale effect is as modelled" and "there is none").
const TRIAL_PAID: f64 = 0.5;
/// The model's errors are measured by 5-fold cross-validation over the earlier runs (the
/// usual choice; with fewer than two runs per fold, on the runs it was fitted on).
const CALIBRATION_FOLDS: usize = 5;

/// When no scale-out reaches the target, what a minute late is worth: this many minutes of the
/// range's maximum scale-out (`--late-minute-price`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LateMinutePrice(f64);

impl Default for LateMinutePrice {
    /// A minute of the whole allowed cluster: the user allowed up to the maximum to meet the
    /// target, so a minute of lateness is worth what a minute of the maximum costs.
    fn default() -> LateMinutePrice {
        LateMinutePrice(1.0)
    }
}

impl LateMinutePrice {
    /// The price in executor-minutes per minute late, for `range`.
    fn executor_minutes(self, range: ScaleOutRange) -> f64 {
        self.0 * f64::from(range.max)
    }
}

impl std::str::FromStr for LateMinutePrice {
    type Err = String;

    fn from_str(text: &str) -> Result<LateMinutePrice, String> {
        match text.trim().parse::<f64>() {
            Ok(price) if price.is_finite() && price >= 0.0 => Ok(LateMinutePrice(price)),
            _ => Err(format!(
                "expected a number ≥ 0 (minutes of the maximum scale-out per minute late), got '{text}'"
            )),
        }
    }
}

impl std::fmt::Display for LateMinutePrice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Default)]
pub struct Pacer {
    profiling: Profiling,
    late_minute_price: LateMinutePrice,
}

impl Pacer {
    pub fn new(profiling: Profiling, late_minute_price: LateMinutePrice) -> Pacer {
        Pacer {
            profiling,
            late_minute_price,
        }
    }
}

struct Model {
    /// The job ids with predictions (those seen in at least half of the earlier runs), in
    /// order.
    job_ids: Vec<i64>,
    /// The predicted duration of each job of `job_ids` at every scale-out of the range: row
    /// `i` of `width` values is job `job_ids[i]`'s.
    predictions: Vec<f64>,
    /// Row `i` (of `width` values): the predicted time left when the jobs from `job_ids[i]` on
    /// are still to come, at each scale-out of the range (what `remaining` answers, summed
    /// once at fitting instead of at every decision); one row more than `job_ids`.
    remaining_after: Vec<f64>,
    /// The scale-outs of the range: the length of each row.
    width: usize,
    /// Calibration: for k finished jobs, the earlier runs' ratios of actual remaining time to
    /// speed-corrected predicted remaining time.
    errors: Vec<Vec<f64>>,
    /// `pool`'s errors for k finished jobs, sorted, made when first needed: a run asks for the
    /// same few percentiles after every job.
    pools: Vec<OnceLock<Vec<f64>>>,
    /// Shrinkage of the observed speed towards 1: this much predicted time counts as observed
    /// at the prior speed.
    prior_ms: f64,
}

/// An earlier run with its jobs in job-id order, as calibration replays it.
struct Replayed<'a> {
    run: &'a RunRecord,
    jobs: Cow<'a, [JobRecord]>,
}

impl Replayed<'_> {
    fn of(run: &RunRecord) -> Replayed<'_> {
        // Runs come from the store in job order: borrowed then, sorted copies otherwise.
        let jobs = if run.jobs.is_sorted_by_key(|j| j.job_id) {
            Cow::Borrowed(run.jobs.as_slice())
        } else {
            let mut jobs = run.jobs.clone();
            jobs.sort_by_key(|j| j.job_id);
            Cow::Owned(jobs)
        };
        Replayed { run, jobs }
    }
}

struct PacerPlan {
    spec: RunSpec,
    initial: Decision,
    model: Model,
    late_minute_price: LateMinutePrice,
    /// The scale-up being judged on the jobs after it.
    trial: Option<ScaleUpTrial>,
    /// After a scale-up that did not pay: the scale-out it started from, above which the model's
    /// scale effect does not hold for this run (predictions above it are taken at it).
    ceiling: Option<u32>,
}

/// A scale-up from `from` to `to`, decided after `jobs_before` jobs at run speed `speed`.
#[derive(Debug, Clone, Copy)]
struct ScaleUpTrial {
    from: u32,
    to: u32,
    speed: f64,
    jobs_before: usize,
}

impl Policy for Pacer {
    fn name(&self) -> String {
        "pacer".into()
    }

    /// After a job it sums predictions computed at the start of the run.
    fn cheap_decisions(&self) -> bool {
        true
    }

    /// A job that spans a rescaling ran partly at each scale-out (docs/POLICY.md).
    fn job_scale_out(&self) -> JobScaleOut {
        JobScaleOut::Mean
    }

    fn start_run(&self, run: &RunSpec, history: &[RunRecord]) -> Box<dyn RunPlan> {
        let usable: Vec<&RunRecord> = history.iter().filter(|r| !r.jobs.is_empty()).collect();
        if let Some(plan) = start_without_models(
            run,
            history,
            &usable,
            SlowerRun::RuntimeWithinTarget,
            self.profiling,
        ) {
            return plan;
        }
        let model = Model::fit(&usable, run.range);
        let initial = plan_start(run, &model, self.late_minute_price);
        Box::new(PacerPlan {
            spec: run.clone(),
            initial,
            model,
            late_minute_price: self.late_minute_price,
            trial: None,
            ceiling: None,
        })
    }
}

impl Model {
    /// The model of the whole history, calibrated on runs it was not fitted on: each fold of
    /// the history is replayed through a model fitted on the other folds (in-sample errors
    /// are too small: the curves pass through those very runs).
    fn fit(history: &[&RunRecord], range: ScaleOutRange) -> Model {
        let cells = JobCells::of(history);
        let replayed: Vec<Replayed> = history.iter().map(|run| Replayed::of(run)).collect();
        let mut model = Model::uncalibrated(history, &cells, range);
        model.errors = if history.len() >= CALIBRATION_FOLDS * 2 {
            let mut errors = Vec::new();
            for fold in 0..CALIBRATION_FOLDS {
                let in_fold = |i: usize| i % CALIBRATION_FOLDS == fold;
                let kept: Vec<&RunRecord> = (0..history.len())
                    .filter(|&i| !in_fold(i))
                    .map(|i| history[i])
                    .collect();
                let held_out: Vec<&Replayed> = (0..history.len())
                    .filter(|&i| in_fold(i))
                    .map(|i| &replayed[i])
                    .collect();
                let fold_model = Model::uncalibrated(&kept, &cells.subset(|i| !in_fold(i)), range);
                let fold_errors = fold_model.calibrate(&held_out, range);
                if errors.len() < fold_errors.len() {
                    errors.resize(fold_errors.len(), Vec::new());
                }
                for (pool, e) in errors.iter_mut().zip(fold_errors) {
                    pool.extend(e);
                }
            }
            errors
        } else {
            model.calibrate(&replayed.iter().collect::<Vec<_>>(), range)
        };
        model.pools = (0..model.errors.len()).map(|_| OnceLock::new()).collect();
        model
    }

    /// Curves, non-job time and the speed prior, fitted on `history` (whose jobs `cells`
    /// holds); no calibration yet.
    fn uncalibrated(history: &[&RunRecord], cells: &JobCells, range: ScaleOutRange) -> Model {
        // Job ids seen in at least half of the runs; robust points: the median duration per
        // scale-out, and through them Ernest's four-term curve, which does not follow the noise
        // of single runs (docs/POLICY.md).
        let width = range.len();
        let mut durations = Vec::new();
        let mut robust = Vec::new();
        let mut job_ids = Vec::new();
        let mut predictions = Vec::new();
        for job in cells
            .entries()
            .chunk_by(|a, b| a.job_id == b.job_id)
            .filter(|job| job.len() * 2 >= history.len())
        {
            robust.clear();
            robust.extend(job.chunk_by(|a, b| a.scale_out == b.scale_out).map(|cell| {
                durations.clear();
                durations.extend(cell.iter().map(|e| e.duration_ms));
                let middle = median_in_place(&mut durations).expect("a cell has entries");
                (f64::from(cell[0].scale_out), middle)
            }));
            let predicted = ellis_predictions(&robust, range, Interpolation::Ernest);
            predictions.extend(predicted.into_iter().map(|p| p.max(1.0)));
            job_ids.push(job[0].job_id);
        }

        let gaps: Vec<f64> = history
            .iter()
            .map(|r| {
                (r.runtime_ms - r.total_job_time_ms()).max(0) as f64 / (r.jobs.len() + 1) as f64
            })
            .collect();
        // Expected non-job time per job (spread evenly, one share after the last job too).
        let gap_ms = quantile(&gaps, 0.5).unwrap_or(0.0);
        let middle = range.index(range.midpoint());
        let typical = predictions
            .chunks_exact(width)
            .map(|p| p[middle])
            .sum::<f64>();
        let prior_ms = typical / job_ids.len().max(1) as f64;
        // Each scale-out's sum runs over the later jobs in job order (the same additions in
        // the same order for every (job, scale-out)), a row of scale-outs at a time.
        let jobs = job_ids.len();
        let mut remaining_after = Vec::with_capacity((jobs + 1) * width);
        let mut later = vec![0.0; width];
        for i in 0..=jobs {
            later.fill(0.0);
            for row in predictions[i * width..].chunks_exact(width) {
                for (sum, p) in later.iter_mut().zip(row) {
                    *sum += p;
                }
            }
            let gaps = (jobs - i + 1) as f64 * gap_ms;
            remaining_after.extend(later.iter().map(|time| time + gaps));
        }
        Model {
            job_ids,
            predictions,
            remaining_after,
            width,
            errors: Vec::new(),
            pools: Vec::new(),
            prior_ms,
        }
    }

    fn predicted(&self, job_id: i64, scale_out: u32, range: ScaleOutRange) -> Option<f64> {
        let i = self.job_ids.binary_search(&job_id).ok()?;
        Some(self.predictions[i * self.width + range.index(scale_out)])
    }

    /// Observed speed after some jobs: actual over predicted time, shrunk towards 1.
    fn speed(&self, actual_ms: f64, predicted_ms: f64) -> f64 {
        (actual_ms + self.prior_ms) / (predicted_ms + self.prior_ms)
    }

    /// The speed of a run so far, from its finished jobs that have predictions; jobs above
    /// `ceiling` are predicted at it.
    fn run_speed(&self, jobs_done: &[JobRecord], range: ScaleOutRange, ceiling: u32) -> f64 {
        let (actual, predicted) = self.actual_and_predicted(jobs_done, range, ceiling);
        self.speed(actual, predicted)
    }

    /// The summed actual and predicted times of the finished jobs that have predictions.
    fn actual_and_predicted(
        &self,
        jobs_done: &[JobRecord],
        range: ScaleOutRange,
        ceiling: u32,
    ) -> (f64, f64) {
        jobs_done.iter().fold((0.0, 0.0), |(a, p), job| {
            match self.predicted(job.job_id, job.scale_out.min(ceiling), range) {
                Some(pj) => (a + job.duration_ms as f64, p + pj),
                None => (a, p),
            }
        })
    }

    /// Predicted time left after the job `after` (None: before any), at scale-out `x`.
    fn remaining(&self, after: Option<i64>, x: u32, range: ScaleOutRange) -> f64 {
        self.remaining_at_each(after)[range.index(x)]
    }

    /// Predicted time left after the job `after` (None: before any), at each scale-out of the
    /// range.
    fn remaining_at_each(&self, after: Option<i64>) -> &[f64] {
        let first_upcoming = match after {
            Some(job_id) => self.job_ids.partition_point(|&id| id <= job_id),
            None => 0,
        };
        &self.remaining_after[first_upcoming * self.width..(first_upcoming + 1) * self.width]
    }

    /// Replays each earlier run through the predictions: after k jobs, actual remaining time
    /// over speed-corrected predicted remaining time.
    fn calibrate(&self, runs: &[&Replayed], range: ScaleOutRange) -> Vec<Vec<f64>> {
        let longest = runs.iter().map(|r| r.jobs.len()).max().unwrap_or(0);
        let mut errors = vec![Vec::new(); longest + 1];
        for &Replayed { run, jobs } in runs {
            let gap =
                (run.runtime_ms - run.total_job_time_ms()).max(0) as f64 / (jobs.len() + 1) as f64;
            let (mut done_actual, mut done_predicted, mut elapsed) = (0.0, 0.0, gap);
            for (k, progress) in errors.iter_mut().enumerate().take(jobs.len() + 1) {
                let after = k.checked_sub(1).map(|i| jobs[i].job_id);
                let scale_out = jobs
                    .get(k)
                    .or(jobs.last())
                    .map_or(range.min, |j| j.scale_out);
                let predicted = self.remaining(after, scale_out, range);
                let actual = run.runtime_ms as f64 - elapsed;
                let speed = self.speed(done_actual, done_predicted);
                if predicted > 0.0 && actual > 0.0 {
                    progress.push(actual / (speed * predicted));
                }
                if let Some(job) = jobs.get(k) {
                    if let Some(p) = self.predicted(job.job_id, job.scale_out, range) {
                        done_actual += job.duration_ms as f64;
                        done_predicted += p;
                    }
                    elapsed += job.duration_ms as f64 + gap;
                }
            }
        }
        errors
    }

    /// How much two predicted times may differ after `k` finished jobs and still not tell the
    /// scale-outs apart: the spread of the model's own errors (p75 over the median).
    fn indistinct(&self, k: usize) -> f64 {
        let spread = self.margin(k, 0.75) / self.margin(k, 0.5).max(1e-9);
        spread.max(NEARLY_AS_FAST)
    }

    /// The error percentile after `k` finished jobs (falling back to earlier points of
    /// progress when few runs got this far).
    fn margin(&self, k: usize, confidence: f64) -> f64 {
        // No calibration at all: no margin.
        let Some(pool) = self.pool(k) else {
            return 1.0;
        };
        // No evidence of errors: no margin.
        quantile_sorted(pool, confidence).unwrap_or(1.0).max(0.0)
    }

    /// The errors after `k` finished jobs, sorted (None without calibration).
    fn pool(&self, k: usize) -> Option<&[f64]> {
        let k = k.min(self.errors.len().saturating_sub(1));
        let pool = self.pools.get(k)?.get_or_init(|| {
            let mut pool: Vec<f64> = Vec::new();
            for i in (0..=k).rev() {
                pool.extend(&self.errors[i]);
                if pool.len() >= MIN_MODEL_RUNS {
                    break;
                }
            }
            pool.sort_unstable_by(f64::total_cmp);
            pool
        });
        Some(pool)
    }
}

/// The initial scale-out of an adaptive run planned with models.
fn plan_start(run: &RunSpec, model: &Model, price: LateMinutePrice) -> Decision {
    let range = run.range;
    let margin = model.margin(0, PLAN_AT);
    let times: Vec<f64> = range
        .values()
        .map(|x| margin * model.remaining(None, x, range))
        .collect();
    match smallest_meeting(&times, run.target_ms as f64) {
        Some(i) => Decision::new(
            range.at(i),
            format!(
                "smallest scale-out meeting the target at p{:.0} ({:.0} ms)",
                PLAN_AT * 100.0,
                times[i]
            ),
        ),
        None => {
            let i = priced_when_late(&times, range, price);
            Decision::new(
                range.at(i),
                format!(
                    "target out of reach: the least executor-minutes plus minutes late ({:.0} ms at p{:.0})",
                    times[i],
                    PLAN_AT * 100.0
                ),
            )
        }
    }
}

/// The share of its promised saving a job delivered: it was predicted to take `old` ms at the
/// old scale-out and `new` at the new one, at the run's `speed`, and took `took`. A job the
/// model does not predict faster at the new scale-out was promised nothing and has no share.
fn delivered_share(speed: f64, old: f64, new: f64, took: f64) -> Option<f64> {
    (old > new && speed > 0.0).then(|| (speed * old - took) / (speed * (old - new)))
}

/// The smallest scale-out whose time meets `budget`.
fn smallest_meeting(times: &[f64], budget: f64) -> Option<usize> {
    times.iter().position(|&t| t <= budget)
}

fn worth_changing(from: u32, to: u32) -> bool {
    from != to && f64::from(from.abs_diff(to)) >= MIN_CHANGE * f64::from(from)
}

/// For a close call: among the scale-outs (indices into `planned`, the times left as planned)
/// no slower than `slowest`, the one under which the most of the model's `errors` meet
/// `budget`, the smallest of equals, and how many do; `time_under(e)` is the time left at each
/// scale-out under error e. The fastest when no error meets it under any.
fn likeliest(
    planned: &[f64],
    slowest: f64,
    errors: &[f64],
    budget: f64,
    time_under: impl Fn(f64) -> Vec<f64>,
) -> (usize, usize) {
    let mut met = vec![0; planned.len()];
    for &e in errors {
        for ((count, time), &as_planned) in met.iter_mut().zip(time_under(e)).zip(planned) {
            *count += usize::from(time <= budget && as_planned <= slowest);
        }
    }
    let best = met.iter().copied().max().unwrap_or(0);
    if best == 0 {
        return (fastest(planned), 0);
    }
    (
        met.iter().position(|&count| count == best).unwrap_or(0),
        best,
    )
}

/// The scale-out with the shortest time (the smallest of equals).
fn fastest(times: &[f64]) -> usize {
    let best = times.iter().copied().fold(f64::INFINITY, f64::min);
    times.iter().position(|&t| t <= best).unwrap_or(0)
}

/// For a run late at every scale-out, given the time left at each (`times`, over `range`): the
/// one with the least executor-minutes from now on plus the price of its minutes late. Every
/// scale-out is late by its time left less the same budget, so that is the least
/// (x + price) · time(x) (the smallest of equals): executors are added while each shortens the
/// run by more than it costs at the price.
fn priced_when_late(times: &[f64], range: ScaleOutRange, price: LateMinutePrice) -> usize {
    let price = price.executor_minutes(range);
    let priced = |i: usize| (f64::from(range.at(i)) + price) * times[i];
    (0..times.len())
        .reduce(|best, i| if priced(i) < priced(best) { i } else { best })
        .unwrap_or(0)
}

impl PacerPlan {
    /// The highest scale-out whose predictions this run still believes.
    fn ceiling(&self) -> u32 {
        self.ceiling.unwrap_or(self.spec.range.max)
    }

    /// Once `TRIAL_JOBS` jobs have run wholly at the scale-up's new scale-out: did they take the
    /// time the model promised? If they did not save at least `TRIAL_PAID` of it, the scale
    /// effect above the old scale-out is not there for this run: back to it, and no higher for
    /// the rest of the run.
    fn judge_trial(&mut self, jobs_done: &[JobRecord], current: u32) -> Option<Decision> {
        let trial = self.trial?;
        let range = self.spec.range;
        // Each job's share of its promised saving that it delivered: the median of a few is
        // not swayed by one straggler.
        let mut delivered: Vec<f64> = Vec::with_capacity(TRIAL_JOBS);
        let (mut at_new, mut at_from) = (0.0, 0.0);
        for job in jobs_done.iter().skip(trial.jobs_before) {
            if job.scale_out < trial.to {
                continue;
            }
            let new = self.model.predicted(job.job_id, job.scale_out, range);
            let old = self.model.predicted(job.job_id, trial.from, range);
            // The saving is weighed over all the trial's jobs, those promised none included: a
            // trial whose jobs were mostly promised nothing gives no verdict, rather than one
            // drawn from the few shares with small denominators.
            if let (Some(new), Some(old)) = (new, old) {
                at_new += new;
                at_from += old;
                delivered.extend(delivered_share(
                    trial.speed,
                    old,
                    new,
                    job.duration_ms as f64,
                ));
            }
        }
        if delivered.len() < TRIAL_JOBS {
            return None;
        }
        self.trial = None;
        // A saving within the model's own error spread cannot be told from noise by a few
        // jobs: no verdict.
        // (Predictions are at least 1 ms, so `at_new` is positive here.)
        if at_from / at_new < self.model.indistinct(jobs_done.len()) {
            return None;
        }
        let share = median_in_place(&mut delivered)?;
        if share >= TRIAL_PAID {
            return None;
        }
        self.ceiling = Some(trial.from);
        (current > trial.from).then(|| {
            Decision::new(
                trial.from,
                format!(
                    "the scale-up from {} to {} executors delivered {:.0} % of the saving predicted (median of {} jobs): back to {}, and no higher",
                    trial.from,
                    trial.to,
                    share * 100.0,
                    delivered.len(),
                    trial.from
                ),
            )
        })
    }

    /// The run's speed so far, not shrunk: the baseline a scale-up is judged against. (The
    /// shrunk speed leans towards 1, and runs scale up because they are slow: against it, every
    /// scale-up of a slow run would look as if it had not paid.)
    fn observed_speed(&self, jobs_done: &[JobRecord]) -> f64 {
        let (actual, predicted) =
            self.model
                .actual_and_predicted(jobs_done, self.spec.range, self.ceiling());
        if predicted > 0.0 {
            actual / predicted
        } else {
            1.0
        }
    }

    fn decide(&self, ended: &JobEnded<'_>, current: u32) -> Option<Decision> {
        let model = &self.model;
        let range = self.spec.range;
        let ceiling = self.ceiling();
        let speed = model.run_speed(ended.jobs_done, range, ceiling);
        let budget = (self.spec.target_ms - (ended.end_ms - self.spec.start_ms)) as f64;
        let k = ended.jobs_done.len();

        // Time left at scale-out x: a scale-up only helps once its executors are up, and not
        // above the ceiling. The predicted remaining work per scale-out is the same at every
        // confidence; only the factor on it changes.
        let remaining = model.remaining_at_each(Some(ended.job_id));
        let left_at = |x: u32| remaining[range.index(x.min(ceiling))];
        let remaining_at_current = left_at(current);
        let time_left_under = |factor: f64| -> Vec<f64> {
            let at_current = factor * remaining_at_current;
            range
                .values()
                .map(|x| {
                    let at_x = factor * left_at(x);
                    if x <= current {
                        at_x
                    } else if at_current <= ACTUATION_DELAY_MS {
                        at_current
                    } else {
                        ACTUATION_DELAY_MS + (1.0 - ACTUATION_DELAY_MS / at_current) * at_x
                    }
                })
                .collect()
        };
        let time_left = |confidence: f64| time_left_under(speed * model.margin(k, confidence));
        let at = range.index(current);
        // Above the ceiling the times are the ceiling's (up to rounding): never chosen.
        let below_ceiling = |times: Vec<f64>| {
            let mut times = times;
            times.truncate(range.index(ceiling) + 1);
            times
        };
        let planned = below_ceiling(time_left(PLAN_AT));
        match smallest_meeting(&planned, budget) {
            Some(need) if need > at => Some(Decision::new(
                range.at(need),
                format!(
                    "behind: {budget:.0} ms left; {:.0} ms at {} executors (p{:.0}, speed ×{speed:.2})",
                    planned[need],
                    range.at(need),
                    PLAN_AT * 100.0
                ),
            )),
            Some(_) => {
                let strict = time_left(CONFIDENCE_DOWN);
                let down = smallest_meeting(&strict, budget)?;
                (down < at && worth_changing(current, range.at(down))).then(|| {
                    Decision::new(
                        range.at(down),
                        format!(
                            "ahead: {budget:.0} ms left; {:.0} ms at {} executors (p{:.0}, speed ×{speed:.2})",
                            strict[down],
                            range.at(down),
                            CONFIDENCE_DOWN * 100.0
                        ),
                    )
                })
            }
            None => {
                let (best, why) = if smallest_meeting(&below_ceiling(time_left(FAIR_CHANCE)), budget).is_some() {
                    let errors = model.pool(k).unwrap_or_default();
                    // Not slower than now: that would be a scale-down on the median's evidence.
                    let slowest = planned.get(at).copied().unwrap_or(f64::INFINITY);
                    let (best, met) = likeliest(&planned, slowest, errors, budget, |e| {
                        time_left_under(speed * e)
                    });
                    let why = format!(
                        "a fair chance: the likeliest to meet it (under {met} of {} errors)",
                        errors.len()
                    );
                    (best, Cow::Owned(why))
                } else {
                    (
                        priced_when_late(&planned, range, self.late_minute_price),
                        Cow::Borrowed("out of reach: the least executor-minutes plus minutes late"),
                    )
                };
                worth_changing(current, range.at(best)).then(|| {
                    Decision::new(
                        range.at(best),
                        format!(
                            "target missed at p{:.0} ({budget:.0} ms left), {why}, {:.0} ms at {} executors (speed ×{speed:.2}, error ×{:.2})",
                            PLAN_AT * 100.0,
                            planned[best],
                            range.at(best),
                            model.margin(k, PLAN_AT)
                        ),
                    )
                })
            }
        }
    }
}

impl RunPlan for PacerPlan {
    fn initial(&self) -> Decision {
        self.initial.clone()
    }

    fn after_job(&mut self, ended: &JobEnded<'_>) -> Option<Decision> {
        let range = self.spec.range;
        let current = range.clamp(i64::from(ended.current_scale_out));
        // Nothing to decide when no known job is left.
        self.model
            .job_ids
            .last()
            .filter(|&&last| last > ended.job_id)?;
        if let Some(back) = self.judge_trial(ended.jobs_done, current) {
            return Some(back);
        }
        let decision = self.decide(ended, current);
        match &decision {
            Some(d) if d.scale_out <= current => self.trial = None,
            // An escalation is judged as a whole, from where it started.
            Some(d) if self.trial.is_none() => {
                self.trial = Some(ScaleUpTrial {
                    from: current,
                    to: d.scale_out,
                    speed: self.observed_speed(ended.jobs_done),
                    jobs_before: ended.jobs_done.len(),
                });
            }
            _ => {}
        }
        decision
    }

    fn predicted_end_ms(&self, ended: &JobEnded<'_>, scale_out: u32) -> Option<i64> {
        let model = &self.model;
        let range = self.spec.range;
        let ceiling = self.ceiling();
        let speed = model.run_speed(ended.jobs_done, range, ceiling);
        let left = speed
            * model.margin(ended.jobs_done.len(), 0.5)
            * model.remaining(Some(ended.job_id), scale_out.min(ceiling), range);
        Some(ended.end_ms + left as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::JobRecord;

    fn range() -> ScaleOutRange {
        ScaleOutRange::new(4, 36)
    }

    fn spec(target_ms: i64) -> RunSpec {
        RunSpec {
            app_name: "a".into(),
            is_adaptive: true,
            target_ms,
            range: range(),
            start_ms: 0,
        }
    }

    /// A job of the test application: 48 s · 8 / s at scale-out s, times the run's speed.
    fn job_ms(speed: f64, s: u32) -> i64 {
        (speed * 48_000.0 * 8.0 / f64::from(s)) as i64
    }

    /// Ten jobs of 48 s · 8 / s, at a run-specific speed, with 1 s between jobs.
    fn run(id: usize, s: u32, speed: f64) -> RunRecord {
        let jobs: Vec<JobRecord> = (0..10)
            .map(|j| JobRecord {
                job_id: j,
                scale_out: s,
                duration_ms: job_ms(speed, s),
            })
            .collect();
        let total: i64 = jobs.iter().map(|j| j.duration_ms).sum();
        RunRecord {
            app_event_id: id.to_string(),
            is_adaptive: false,
            start_ms: 0,
            runtime_ms: total + 11_000,
            target_ms: 0,
            jobs,
        }
    }

    fn history() -> Vec<RunRecord> {
        [
            (4, 1.0),
            (8, 1.2),
            (12, 0.9),
            (16, 1.1),
            (24, 1.0),
            (36, 0.95),
        ]
        .iter()
        .enumerate()
        .map(|(i, &(s, speed))| run(i, s, speed))
        .collect()
    }

    #[test]
    fn errors_are_measured_on_runs_the_model_was_not_fitted_on() {
        // Ten profiling runs, one per scale-out, all at speed 1 but the one at the largest
        // scale-out, twice as slow: a curve fitted on it bends towards it, so in sample that run
        // looks less slow than it is.
        let runs: Vec<RunRecord> = [4, 6, 8, 12, 16, 20, 24, 28, 32, 36]
            .iter()
            .enumerate()
            .map(|(i, &s)| run(i, s, if s == 36 { 2.0 } else { 1.0 }))
            .collect();
        let history: Vec<&RunRecord> = runs.iter().collect();
        let model = Model::fit(&history, range());
        let replayed: Vec<Replayed> = history.iter().map(|run| Replayed::of(run)).collect();
        let in_sample = model.calibrate(&replayed.iter().collect::<Vec<_>>(), range());
        let largest = |errors: &[Vec<f64>]| quantile(&errors[0], 1.0).unwrap();
        assert!(
            largest(&model.errors) > 1.8 && largest(&in_sample) < 0.9 * largest(&model.errors),
            "out of fold {:.3}, in sample {:.3}",
            largest(&model.errors),
            largest(&in_sample)
        );
    }

    #[test]
    fn plans_for_the_median_run_and_counts_non_job_time() {
        let plan = Pacer::default().start_run(&spec(400_000), &history());
        let s = plan.initial().scale_out;
        // At the average speed, 10 jobs + 11 s of gaps need 3 840 000 / s + 11 000 ≤ 400 000:
        // s ≥ 10 (9.9 without the gaps would round down to a scale-out that misses).
        assert_eq!(s, 10, "{s}");
    }

    /// A fresh plan's decision after its first job took `speed` × the predicted time, 1 s after
    /// the start; and the initial scale-out.
    fn after_first_job(speed: f64) -> (Option<Decision>, u32) {
        let mut plan = Pacer::default().start_run(&spec(400_000), &history());
        let s = plan.initial().scale_out;
        let job = [JobRecord {
            job_id: 0,
            scale_out: s,
            duration_ms: job_ms(speed, s),
        }];
        let ended = JobEnded {
            job_id: 0,
            end_ms: 1_000 + job[0].duration_ms,
            current_scale_out: s,
            num_executors: s,
            jobs_done: &job,
        };
        (plan.after_job(&ended), s)
    }

    #[test]
    fn a_slow_run_scales_up_and_a_fast_one_down() {
        let (up, s) = after_first_job(2.0);
        let up = up.expect("scale up");
        assert!(up.scale_out > s, "{up:?}");
        let (down, s) = after_first_job(0.5);
        let down = down.expect("scale down");
        assert!(down.scale_out < s, "{down:?}");
    }

    #[test]
    fn a_close_call_and_a_lost_run_on_strong_scaling_get_the_largest_scale_out() {
        // Ever slower first jobs: behind, then short at the median but not at the lower
        // quartile (a close call), then out of reach.
        let decisions: Vec<Decision> = (20..80)
            .filter_map(|tenths| after_first_job(f64::from(tenths) / 10.0).0)
            .collect();
        let close: Vec<&Decision> = decisions
            .iter()
            .filter(|d| d.reason.contains("fair chance"))
            .collect();
        let lost: Vec<&Decision> = decisions
            .iter()
            .filter(|d| d.reason.contains("out of reach"))
            .collect();
        assert!(!close.is_empty() && !lost.is_empty(), "{decisions:?}");
        // Strong scaling: every executor more shortens the run (36 is 3 % faster than 35), so
        // the largest scale-out is the likeliest to meet the target, and for a lost run it
        // costs no more executor-minutes than a smaller one, so it is worth its price too.
        assert!(close.iter().all(|d| d.scale_out == 36), "{close:?}");
        assert!(lost.iter().all(|d| d.scale_out == 36), "{lost:?}");
    }

    /// Time left at each scale-out of the range: `serial` ms plus `parallel` ms spread over the
    /// executors.
    fn amdahl(serial: f64, parallel: f64) -> Vec<f64> {
        range()
            .values()
            .map(|x| serial + parallel / f64::from(x))
            .collect()
    }

    #[test]
    fn a_close_call_takes_fewer_executors_only_for_the_same_chance() {
        // Five errors around a median of 1; the times left are planned at the median.
        let errors = [0.8, 0.9, 1.0, 1.1, 1.2];
        let planned = amdahl(100.0, 1000.0);
        let under = |e: f64| planned.iter().map(|t| t * e).collect::<Vec<f64>>();
        let at = |x: u32| planned[range().index(x)];
        let likeliest_at = |budget: f64, slowest: f64| {
            let (i, met) = likeliest(&planned, slowest, &errors, budget, under);
            (range().at(i), met)
        };
        let any = f64::INFINITY;
        // Met at 30 executors under the three errors up to 1.0, and at 36 (4 % faster) under
        // no more of the five: 30, not the fastest.
        assert_eq!(likeliest_at(at(30), any), (30, 3));
        // From 33 executors, not slower than 33.
        assert_eq!(likeliest_at(at(30), at(33)), (33, 3));
        // Met under 1.1 only at 36: the fastest buys a chance the others do not have.
        assert_eq!(likeliest_at(1.1 * at(36), any), (36, 4));
        // Met under none: the fastest.
        assert_eq!(likeliest_at(0.5 * at(36), any), (36, 0));
    }

    #[test]
    fn a_lost_run_adds_executors_while_they_pay_for_themselves_at_the_price() {
        let range = range();
        let priced = |times: &[f64], price: f64| {
            range.at(priced_when_late(times, range, LateMinutePrice(price)))
        };
        let default = LateMinutePrice::default().0;
        // (x + p)(s + w/x) is least at x = √(p·w/s), p = 36 (a minute of the maximum): with
        // w/s = 4, x = 12; with w/s = 16, x = 24; all parallel, the fastest; all serial, the
        // smallest.
        assert_eq!(priced(&amdahl(100.0, 400.0), default), 12);
        assert_eq!(priced(&amdahl(100.0, 1600.0), default), 24);
        assert_eq!(priced(&amdahl(0.0, 1600.0), default), 36);
        assert_eq!(priced(&amdahl(100.0, 0.0), default), 4);
        // A stated price moves the choice: p = 144 gives √(144·4) = 24, p = 9 gives 6, and a
        // free minute late the smallest scale-out.
        assert_eq!(priced(&amdahl(100.0, 400.0), 4.0), 24);
        assert_eq!(priced(&amdahl(100.0, 400.0), 0.25), 6);
        assert_eq!(priced(&amdahl(100.0, 400.0), 0.0), 4);
        // A curve that rises beyond its optimum: never past it.
        let ushape: Vec<f64> = range
            .values()
            .map(|x| 100.0 + 1600.0 / f64::from(x) + 5.0 * f64::from(x))
            .collect();
        assert!(priced(&ushape, default) <= 17);
    }

    #[test]
    fn a_late_minute_price_is_a_number_not_below_zero() {
        assert_eq!("2.5".parse(), Ok(LateMinutePrice(2.5)));
        for bad in ["-1", "NaN", "inf", "two", ""] {
            let error = bad.parse::<LateMinutePrice>().unwrap_err();
            assert!(error.contains("expected a number ≥ 0"), "{bad}: {error}");
            assert!(error.contains(&format!("'{bad}'")), "{bad}: {error}");
        }
    }

    #[test]
    fn on_track_does_not_scale_up() {
        let (decision, s) = after_first_job(1.0);
        // Knowing the run's speed needs less margin than at the start: at most a small step down.
        assert!(
            decision
                .as_ref()
                .is_none_or(|d| d.scale_out < s && d.scale_out + 2 >= s),
            "{decision:?}"
        );
    }

    /// A run whose first job took twice the predicted time scales up; its next jobs then take
    /// the time they would have taken at the old scale-out times `gain` (1: the scale-up bought
    /// nothing). Returns the old and new scale-outs and every decision after the scale-up.
    fn after_scale_up(gain: f64) -> (u32, u32, Vec<Decision>) {
        let mut plan = Pacer::default().start_run(&spec(400_000), &history());
        let s = plan.initial().scale_out;
        let mut jobs = vec![JobRecord {
            job_id: 0,
            scale_out: s,
            duration_ms: job_ms(2.0, s),
        }];
        let mut end_ms = 1_000 + jobs[0].duration_ms;
        let ended = JobEnded {
            job_id: 0,
            end_ms,
            current_scale_out: s,
            num_executors: s,
            jobs_done: &jobs,
        };
        let up = plan
            .after_job(&ended)
            .expect("a slow run scales up")
            .scale_out;
        assert!(up > s);
        let mut current = up;
        let mut decisions = Vec::new();
        for job_id in 1..6 {
            let at_old = job_ms(2.0, s) as f64;
            let at_new = job_ms(2.0, current) as f64;
            let took = at_old - (at_old - at_new) * (1.0 - gain);
            jobs.push(JobRecord {
                job_id,
                scale_out: current,
                duration_ms: took as i64,
            });
            end_ms += took as i64 + 1_000;
            let ended = JobEnded {
                job_id,
                end_ms,
                current_scale_out: current,
                num_executors: current,
                jobs_done: &jobs,
            };
            if let Some(d) = plan.after_job(&ended) {
                current = d.scale_out;
                decisions.push(d);
            }
        }
        (s, up, decisions)
    }

    #[test]
    fn a_scale_up_that_bought_nothing_is_undone_and_not_repeated() {
        let (s, _, decisions) = after_scale_up(1.0);
        let back = decisions
            .iter()
            .position(|d| d.scale_out == s)
            .unwrap_or_else(|| panic!("back to {s}: {decisions:?}"));
        assert!(
            decisions[back..].iter().all(|d| d.scale_out <= s),
            "{decisions:?}"
        );
    }

    #[test]
    fn a_job_promised_no_saving_or_of_no_speed_has_no_share_to_deliver() {
        assert_eq!(delivered_share(2.0, 100.0, 60.0, 120.0), Some(1.0));
        assert_eq!(delivered_share(2.0, 100.0, 60.0, 200.0), Some(0.0));
        assert_eq!(delivered_share(2.0, 100.0, 100.0, 150.0), None);
        assert_eq!(delivered_share(2.0, 100.0, 120.0, 150.0), None);
        assert_eq!(delivered_share(0.0, 100.0, 60.0, 120.0), None);
    }

    #[test]
    fn a_scale_up_that_paid_is_kept() {
        let (s, up, decisions) = after_scale_up(0.0);
        assert!(
            decisions.iter().all(|d| d.scale_out > s),
            "from {s} up to {up}, then {decisions:?}"
        );
    }
}
