//! Scale-out policies. The live bridge and the replay tool drive them through the same trait
//! and the same event sequence: `start_run` at APPLICATION_START, `after_job` at every JOB_END.

mod ellis;
mod exploration;
mod fallback;
mod fixed;
mod noop;
mod pacing;

use std::sync::Arc;

pub use ellis::Ellis;
pub use exploration::{exploration_scale_out, Profiling};
pub use fallback::{fallback, SlowerRun};
pub use fixed::Fixed;
pub use noop::Noop;
pub use pacing::{LateMinutePrice, Pacer};

use crate::history::{JobRecord, JobScaleOut, RunRecord, ScaleOutRange};

/// Earlier runs a model policy needs before it plans with models (as in Ellis).
const MIN_MODEL_RUNS: usize = 3;

/// What a policy knows about a run when it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    pub app_name: String,
    /// False for a profiling run: explore, do not chase a target.
    pub is_adaptive: bool,
    pub target_ms: i64,
    pub range: ScaleOutRange,
    /// APPLICATION_START's time, epoch ms.
    pub start_ms: i64,
}

/// A recommendation and why it was made (stored with every recommendation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub scale_out: u32,
    pub reason: String,
}

impl Decision {
    pub fn new(scale_out: u32, reason: impl Into<String>) -> Decision {
        Decision {
            scale_out,
            reason: reason.into(),
        }
    }
}

/// A run's state when one of its jobs has ended.
#[derive(Debug, Clone, Copy)]
pub struct JobEnded<'a> {
    pub job_id: i64,
    pub end_ms: i64,
    /// The scale-out in force (the last one recommended).
    pub current_scale_out: u32,
    /// The executors the application has at the job's end (JOB_END's `num_executors`); below
    /// `current_scale_out` while requested executors are still starting.
    pub num_executors: u32,
    /// The run's finished jobs so far, this one included.
    pub jobs_done: &'a [JobRecord],
}

/// A plan that keeps its initial decision for the whole run: profiling runs, runs planned
/// without models, `noop`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keep(pub Decision);

impl RunPlan for Keep {
    fn initial(&self) -> Decision {
        self.0.clone()
    }

    fn after_job(&mut self, _ended: &JobEnded<'_>) -> Option<Decision> {
        None
    }
}

/// How both model policies start a run they cannot plan with models: a profiling run explores
/// by `profiling`; an adaptive run with fewer than [`MIN_MODEL_RUNS`] usable earlier runs
/// (`usable`, by the policy's own definition) takes the fallback judged by `rule`. None: plan
/// with models.
fn start_without_models(
    run: &RunSpec,
    history: &[RunRecord],
    usable: &[&RunRecord],
    rule: SlowerRun,
    profiling: Profiling,
) -> Option<Box<dyn RunPlan>> {
    if !run.is_adaptive {
        return Some(Box::new(Keep(profiling.decision(run, history))));
    }
    if usable.len() < MIN_MODEL_RUNS {
        return Some(Box::new(Keep(fallback(run, usable, rule))));
    }
    None
}

pub trait Policy: Send + Sync {
    fn name(&self) -> String;

    /// True when `RunPlan::after_job` is bounded in-memory arithmetic (microseconds, no I/O).
    /// The server then decides JOB_ENDs on its socket thread, saving two thread hand-offs
    /// per job; `start_run` always runs on worker threads.
    fn cheap_decisions(&self) -> bool {
        false
    }

    /// How the scale-out of a job in this policy's history is derived from the executors
    /// reported at its start and end. By default the original Ellis bridge's definition.
    fn job_scale_out(&self) -> JobScaleOut {
        JobScaleOut::AtEnd
    }

    /// Plans a run from the earlier runs of the same application, oldest first.
    fn start_run(&self, run: &RunSpec, history: &[RunRecord]) -> Box<dyn RunPlan>;
}

/// The policy's state for one run.
pub trait RunPlan: Send {
    /// The scale-out to start with (the APPLICATION_START reply).
    fn initial(&self) -> Decision;

    /// A new scale-out after a job, or None to keep the current one.
    fn after_job(&mut self, ended: &JobEnded<'_>) -> Option<Decision>;

    /// When the run is predicted to end (epoch ms) if it goes on at `scale_out` after the job
    /// that just ended; None when the plan has no model of the remaining jobs. Shown beside
    /// the actual finish, so a user can judge the predictions the decisions rest on.
    fn predicted_end_ms(&self, _ended: &JobEnded<'_>, _scale_out: u32) -> Option<i64> {
        None
    }

    /// The run ended at `end_ms` (epoch ms); only plans that talk to something need it.
    fn finished(&mut self, _end_ms: i64) {}
}

/// What a deployment sets for the policies (`serve`'s and `replay`'s flags).
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// How the model policies' profiling runs choose their scale-out (`noop` and `fixed:N`
    /// do not profile).
    pub profiling: Profiling,
    /// What a minute late is worth to `pacer` when the target is out of reach.
    pub late_minute_price: LateMinutePrice,
}

/// Policies by their `--policy` name: `noop`, `fixed:N`, `ellis`, `ellis-abe`, `pacer`.
pub fn by_name(name: &str) -> Result<Arc<dyn Policy>, String> {
    by_name_with(name, Options::default())
}

/// A policy by name, set up with `options`.
pub fn by_name_with(name: &str, options: Options) -> Result<Arc<dyn Policy>, String> {
    let Options {
        profiling,
        late_minute_price,
    } = options;
    let name = name.trim();
    if let Some(n) = name.strip_prefix("fixed:") {
        let n: u32 = n
            .parse()
            .map_err(|_| format!("policy 'fixed:N' needs a positive integer N, got '{n}'"))?;
        return Ok(Arc::new(Fixed(n)));
    }
    match name {
        "noop" => Ok(Arc::new(Noop)),
        "ellis" => Ok(Arc::new(Ellis::published().with_profiling(profiling))),
        "ellis-abe" => Ok(Arc::new(Ellis::deployed().with_profiling(profiling))),
        "pacer" => Ok(Arc::new(Pacer::new(profiling, late_minute_price))),
        other => Err(format!(
            "unknown policy '{other}'; expected noop, fixed:N, ellis, ellis-abe or pacer"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_by_name() {
        for name in ["noop", "fixed:4", "ellis", "ellis-abe", "pacer"] {
            assert!(by_name(name).is_ok(), "{name}");
        }
        assert!(by_name("fixed:x").err().unwrap().contains("fixed:N"));
        assert!(by_name("magic")
            .err()
            .unwrap()
            .contains("unknown policy 'magic'"));
    }
}
