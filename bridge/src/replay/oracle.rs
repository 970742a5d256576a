//! The clairvoyant bound: knows the run's true job durations at every scale-out, picks a
//! scale-out per job, no actuation delay. If the target can be met at all, it takes the
//! cheapest per-job choice (executor-minutes) that meets it; otherwise the fastest.

use super::reference::ReferenceModels;
use super::simulate::{gaps, Outcome};
use crate::history::{JobRecord, ScaleOutRange};
use crate::trace::TraceRun;

/// Time resolution of the budget; durations are rounded up, so a plan found meets the target.
const STEP_MS: f64 = 100.0;
/// Budgets finer than this many steps are coarsened (long targets), keeping the search small.
const MAX_STEPS: usize = 20_000;

pub fn oracle(
    run: &TraceRun,
    reference: &ReferenceModels,
    range: ScaleOutRange,
    target_ms: f64,
) -> Outcome {
    let (gaps, tail) = gaps(run);
    let scale_outs: Vec<u32> = range.values().collect();
    // Per job and scale-out: duration, and executor time including the gap before the job
    // (held at the job's scale-out) and, for the last job, the tail.
    let last = run.jobs.len().saturating_sub(1);
    let options: Vec<Vec<(f64, f64)>> = run
        .jobs
        .iter()
        .enumerate()
        .map(|(k, job)| {
            scale_outs
                .iter()
                .map(|&s| {
                    let duration = reference.duration_at(job, s);
                    let held = gaps[k] + duration + if k == last { tail } else { 0.0 };
                    (duration, f64::from(s) * held)
                })
                .collect()
        })
        .collect();
    let fixed: f64 = gaps.iter().sum::<f64>() + tail;
    let fastest: Vec<usize> = options
        .iter()
        .map(|o| {
            (0..o.len())
                .min_by(|&a, &b| o[a].0.total_cmp(&o[b].0))
                .unwrap_or(0)
        })
        .collect();
    let fastest_runtime: f64 = fixed
        + options
            .iter()
            .zip(&fastest)
            .map(|(o, &i)| o[i].0)
            .sum::<f64>();

    let choice = if fastest_runtime > target_ms || run.jobs.is_empty() {
        fastest
    } else {
        cheapest_within(&options, target_ms - fixed).unwrap_or(fastest)
    };
    let runtime_ms = fixed
        + options
            .iter()
            .zip(&choice)
            .map(|(o, &i)| o[i].0)
            .sum::<f64>();
    let executor_ms = options
        .iter()
        .zip(&choice)
        .map(|(o, &i)| o[i].1)
        .sum::<f64>();
    let rescalings = choice.windows(2).filter(|w| w[0] != w[1]).count() as u32;
    let jobs = run
        .jobs
        .iter()
        .zip(&options)
        .zip(&choice)
        .map(|((job, o), &i)| JobRecord {
            job_id: job.job_id,
            scale_out: scale_outs[i],
            duration_ms: o[i].0.round() as i64,
        })
        .collect();
    let mut chosen: Vec<u32> = choice.iter().map(|&i| scale_outs[i]).collect();
    chosen.dedup();
    Outcome {
        runtime_ms,
        executor_ms,
        rescalings,
        scale_outs: chosen,
        jobs,
    }
}

/// What a clairvoyant constant scale-out does with a run whose target no scale-out meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LostRun {
    /// The fastest scale-out (`oracle-constant`): as little time over the target as possible.
    Fastest,
    /// The cheapest scale-out (`oracle-frugal`): the fewest executor-minutes any policy that
    /// meets no fewer targets with one scale-out per run can spend.
    Cheapest,
}

/// The clairvoyant bound for one scale-out per run: knows the run's true durations, keeps a
/// single scale-out throughout (no rescaling): the cheapest one meeting the target, else the
/// one `lost` says. What separates it from the per-job oracle is only per-job switching.
pub fn oracle_constant(
    run: &TraceRun,
    reference: &ReferenceModels,
    range: ScaleOutRange,
    target_ms: f64,
    lost: LostRun,
) -> Outcome {
    let (gaps, tail) = gaps(run);
    let fixed: f64 = gaps.iter().sum::<f64>() + tail;
    // Per scale-out: the run's job durations and its runtime.
    let options: Vec<(u32, Vec<f64>, f64)> = range
        .values()
        .map(|s| {
            let durations: Vec<f64> = run
                .jobs
                .iter()
                .map(|j| reference.duration_at(j, s))
                .collect();
            let runtime = fixed + durations.iter().sum::<f64>();
            (s, durations, runtime)
        })
        .collect();
    let cost = |o: &&(u32, Vec<f64>, f64)| f64::from(o.0) * o.2;
    let meeting = options
        .iter()
        .filter(|o| o.2 <= target_ms)
        .min_by(|a, b| cost(a).total_cmp(&cost(b)));
    let otherwise = match lost {
        LostRun::Fastest => options.iter().min_by(|a, b| a.2.total_cmp(&b.2)),
        LostRun::Cheapest => options.iter().min_by(|a, b| cost(a).total_cmp(&cost(b))),
    };
    let (s, durations, runtime_ms) = meeting.or(otherwise).expect("a non-empty range");
    Outcome {
        runtime_ms: *runtime_ms,
        executor_ms: f64::from(*s) * runtime_ms,
        rescalings: 0,
        scale_outs: vec![*s],
        jobs: run
            .jobs
            .iter()
            .zip(durations)
            .map(|(job, d)| JobRecord {
                job_id: job.job_id,
                scale_out: *s,
                duration_ms: d.round() as i64,
            })
            .collect(),
    }
}

/// Multiple-choice knapsack by dynamic programming over the time budget: the choice per job
/// minimising the summed cost with the summed (rounded-up) duration within `budget_ms`.
fn cheapest_within(options: &[Vec<(f64, f64)>], budget_ms: f64) -> Option<Vec<usize>> {
    let step = STEP_MS.max(budget_ms / MAX_STEPS as f64);
    let budget = (budget_ms / step).floor() as usize;
    let units: Vec<Vec<usize>> = options
        .iter()
        .map(|o| o.iter().map(|(d, _)| (d / step).ceil() as usize).collect())
        .collect();
    // best[b]: least cost of the jobs so far using at most b units.
    let mut best = vec![0.0f64; budget + 1];
    let mut picks: Vec<Vec<u8>> = Vec::with_capacity(options.len());
    for (job, option) in options.iter().enumerate() {
        let mut next = vec![f64::INFINITY; budget + 1];
        let mut pick = vec![u8::MAX; budget + 1];
        for b in 0..=budget {
            for (i, &(_, cost)) in option.iter().enumerate() {
                let u = units[job][i];
                if u <= b && best[b - u].is_finite() {
                    let total = best[b - u] + cost;
                    if total < next[b] {
                        next[b] = total;
                        pick[b] = i as u8;
                    }
                }
            }
        }
        best = next;
        picks.push(pick);
    }
    if !best[budget].is_finite() {
        return None;
    }
    let mut choice = vec![0; options.len()];
    let mut b = budget;
    for job in (0..options.len()).rev() {
        let i = picks[job][b] as usize;
        choice[job] = i;
        b -= units[job][i];
    }
    Some(choice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knapsack_takes_the_cheapest_plan_within_the_budget() {
        // Two jobs; option 0 slow and cheap, option 1 fast and dear.
        let options = vec![
            vec![(1_000.0, 10.0), (500.0, 30.0)],
            vec![(2_000.0, 20.0), (800.0, 45.0)],
        ];
        assert_eq!(cheapest_within(&options, 3_000.0), Some(vec![0, 0]));
        assert_eq!(cheapest_within(&options, 2_500.0), Some(vec![1, 0]));
        assert_eq!(cheapest_within(&options, 1_800.0), Some(vec![0, 1]));
        assert_eq!(cheapest_within(&options, 1_000.0), None);
    }
}
