//! What a replay reports: per policy, the target violations and the cost (docs/EVALUATION.md),
//! and optionally every replayed run.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::{Outcome, Outcomes};
use crate::output::Report;
use crate::trace::TraceRun;

/// What each policy achieved over the replayed runs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PolicyMetrics {
    pub runs: usize,
    /// Share of runs over the target.
    pub cvc: f64,
    /// Mean minutes over the target, over all runs.
    pub cvs_min: f64,
    /// Mean minutes over the target, over the violating runs only (0 when none).
    pub cvs_violating_min: f64,
    pub executor_minutes: f64,
    pub rescalings: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReplayReport {
    pub policies: BTreeMap<String, PolicyMetrics>,
    /// With `--per-run`: every replayed run of each policy, in the order replayed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs: Option<BTreeMap<String, Vec<RunRow>>>,
}

/// One replayed run of one policy, as `--per-run` shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunRow {
    pub app_event_id: i64,
    pub runtime_ms: f64,
    pub met: bool,
    pub executor_minutes: f64,
    pub scale_outs: Vec<u32>,
}

impl ReplayReport {
    /// The report with every replayed run of each policy attached.
    pub fn with_runs(self, replayed: &[TraceRun], outcomes: &Outcomes, target_ms: i64) -> Self {
        let runs = outcomes
            .iter()
            .map(|(name, results)| {
                let rows = replayed
                    .iter()
                    .zip(results)
                    .map(|(run, o)| RunRow {
                        app_event_id: run.app_event_id,
                        runtime_ms: o.runtime_ms,
                        met: o.runtime_ms <= target_ms as f64,
                        executor_minutes: o.executor_ms / 60e3,
                        scale_outs: o.scale_outs.clone(),
                    })
                    .collect();
                (name.clone(), rows)
            })
            .collect();
        ReplayReport {
            runs: Some(runs),
            ..self
        }
    }
}

impl PolicyMetrics {
    /// The metrics of one policy's replayed runs against `target_ms`.
    pub fn of(results: &[Outcome], target_ms: f64) -> PolicyMetrics {
        let n = results.len().max(1) as f64;
        let over: Vec<f64> = results
            .iter()
            .map(|r| (r.runtime_ms - target_ms).max(0.0) / 60_000.0)
            .collect();
        let violating: Vec<f64> = over.iter().copied().filter(|&m| m > 0.0).collect();
        PolicyMetrics {
            runs: results.len(),
            cvc: violating.len() as f64 / n,
            cvs_min: over.iter().sum::<f64>() / n,
            cvs_violating_min: if violating.is_empty() {
                0.0
            } else {
                violating.iter().sum::<f64>() / violating.len() as f64
            },
            executor_minutes: results
                .iter()
                .map(|r| r.executor_ms / 60_000.0)
                .sum::<f64>()
                / n,
            rescalings: results.iter().map(|r| f64::from(r.rescalings)).sum::<f64>() / n,
        }
    }
}

impl Report for ReplayReport {
    fn table(&self) -> String {
        let mut out = format!(
            "{:<16} {:>5} {:>7} {:>10} {:>15} {:>14} {:>11}\n",
            "policy", "runs", "CVC", "CVS min", "CVS viol. min", "executor-min", "rescalings"
        );
        for (name, m) in &self.policies {
            let _ = writeln!(
                out,
                "{:<16} {:>5} {:>7.3} {:>10.2} {:>15.2} {:>14.1} {:>11.2}",
                name,
                m.runs,
                m.cvc,
                m.cvs_min,
                m.cvs_violating_min,
                m.executor_minutes,
                m.rescalings
            );
        }
        out
    }
}

/// One line per replayed run and policy: runtime, met or missed, cost, scale-outs; then an
/// empty line.
pub fn per_run_table(replayed: &[TraceRun], outcomes: &Outcomes, target_ms: i64) -> String {
    let mut out = String::new();
    for (i, run) in replayed.iter().enumerate() {
        for (name, results) in outcomes {
            let o = &results[i];
            let scale_outs: Vec<String> = o.scale_outs.iter().map(u32::to_string).collect();
            let _ = writeln!(
                out,
                "run {:>4} {:<15} {:>8.1} s {:<4} {:>8.1} executor-min  {}",
                run.app_event_id,
                name,
                o.runtime_ms / 1e3,
                if o.runtime_ms <= target_ms as f64 {
                    "met"
                } else {
                    "MISS"
                },
                o.executor_ms / 60e3,
                scale_outs.join("→")
            );
        }
    }
    out.push('\n');
    out
}
