//! `pacer-bridge replay`: the policies on recorded traces, against a clairvoyant bound
//! (docs/EVALUATION.md).

mod oracle;
mod reference;
mod remote;
mod report;
mod simulate;

use std::collections::BTreeMap;

use crate::history::{RunRecord, ScaleOutRange};
use crate::policy::{self, Fixed, Policy, RunSpec};
use crate::rng::Rng;
use crate::trace::TraceRun;
use oracle::LostRun;
pub use reference::{Reference, ReferenceModels};
pub use remote::RemoteBridge;
pub use report::{per_run_table, PolicyMetrics, ReplayReport, RunRow};
pub use simulate::{simulate, Outcome, Setting};

#[derive(Debug, Clone)]
pub struct ReplayConfig {
    pub target_ms: i64,
    pub policies: Vec<String>,
    pub profiling_runs: usize,
    pub range: ScaleOutRange,
    pub actuation_delay_ms: f64,
    pub seed: u64,
    /// Each replayed run joins the history of the runs after it (as the live bridge records
    /// adaptive runs), per policy; otherwise every run gets the profiling runs only.
    pub learn: bool,
    /// Which reference model carries the scale-out's effect into the simulation.
    pub reference: Reference,
    /// `pacer`'s price of a minute late (`--late-minute-price`).
    pub late_minute_price: policy::LateMinutePrice,
    /// An external bridge (`tcp://HOST:PORT`) replayed beside the policies, as `bridge`.
    pub bridge: Option<String>,
}

/// Per policy, per replayed run (in order).
pub type Outcomes = BTreeMap<String, Vec<Outcome>>;

pub fn replay(
    runs: &[TraceRun],
    config: &ReplayConfig,
) -> Result<(ReplayReport, Outcomes), String> {
    if runs.len() <= config.profiling_runs {
        return Err(format!(
            "the trace has {} runs: nothing left to replay after {} profiling runs",
            runs.len(),
            config.profiling_runs
        ));
    }
    let (profiling, replayed) = runs.split_at(config.profiling_runs);
    let history: Vec<RunRecord> = profiling.iter().map(|r| r.to_record(false, 0)).collect();
    let reference = ReferenceModels::of(config.reference, runs, config.profiling_runs);
    let mut outcomes: Outcomes = BTreeMap::new();
    let options = policy::Options {
        late_minute_price: config.late_minute_price,
        ..policy::Options::default()
    };
    for name in &config.policies {
        let results = match name.as_str() {
            "oracle" => replayed
                .iter()
                .map(|run| oracle::oracle(run, &reference, config.range, config.target_ms as f64))
                .collect(),
            "oracle-constant" | "oracle-frugal" => {
                let lost = if name == "oracle-frugal" {
                    LostRun::Cheapest
                } else {
                    LostRun::Fastest
                };
                replayed
                    .iter()
                    .map(|run| {
                        let target = config.target_ms as f64;
                        oracle::oracle_constant(run, &reference, config.range, target, lost)
                    })
                    .collect()
            }
            "static-max" => run_policy(
                &Fixed(config.range.max),
                replayed,
                &history,
                &reference,
                config,
            ),
            other => run_policy(
                policy::by_name_with(other, options)?.as_ref(),
                replayed,
                &history,
                &reference,
                config,
            ),
        };
        outcomes.insert(name.clone(), results);
    }
    if let Some(address) = &config.bridge {
        let bridge = RemoteBridge::connect(address);
        bridge.teach(profiling, config.range);
        let results = run_policy(&bridge, replayed, &history, &reference, config);
        if let Some(failure) = bridge.failure() {
            return Err(failure);
        }
        outcomes.insert(bridge.name(), results);
    }
    let policies = outcomes
        .iter()
        .map(|(name, results)| {
            let metrics = PolicyMetrics::of(results, config.target_ms as f64);
            (name.clone(), metrics)
        })
        .collect();
    Ok((
        ReplayReport {
            policies,
            runs: None,
        },
        outcomes,
    ))
}

fn run_policy(
    policy: &dyn Policy,
    replayed: &[TraceRun],
    history: &[RunRecord],
    reference: &ReferenceModels,
    config: &ReplayConfig,
) -> Vec<Outcome> {
    // The same seed for every policy: each meets the same actuation delays.
    let mut rng = Rng::new(config.seed);
    let mut history = history.to_vec();
    replayed
        .iter()
        .map(|run| {
            let spec = RunSpec {
                app_name: run.app_name.clone(),
                is_adaptive: true,
                target_ms: config.target_ms,
                range: config.range,
                start_ms: run.start_ms,
            };
            let mut plan = policy.start_run(&spec, &history);
            let setting = Setting {
                job_scale_out: policy.job_scale_out(),
                range: config.range,
                actuation_delay_ms: config.actuation_delay_ms,
            };
            let outcome = simulate(run, reference, plan.as_mut(), setting, &mut rng);
            if config.learn {
                history.push(RunRecord {
                    app_event_id: run.app_event_id.to_string(),
                    is_adaptive: true,
                    start_ms: run.start_ms,
                    runtime_ms: outcome.runtime_ms.round() as i64,
                    target_ms: config.target_ms,
                    jobs: outcome.jobs.clone(),
                });
            }
            outcome
        })
        .collect()
}

#[cfg(test)]
mod tests;
