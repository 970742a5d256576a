use super::{Decision, JobEnded, Policy, RunPlan, RunSpec};
use crate::history::RunRecord;

/// Changes nothing: every reply echoes the scale-out the message reported. APPLICATION_START
/// carries none, so it is answered with the maximum (the same as Ellis without history).
pub struct Noop;

struct NoopPlan(u32);

impl Policy for Noop {
    fn name(&self) -> String {
        "noop".into()
    }

    fn cheap_decisions(&self) -> bool {
        true
    }

    fn start_run(&self, run: &RunSpec, _history: &[RunRecord]) -> Box<dyn RunPlan> {
        Box::new(NoopPlan(run.range.max))
    }
}

impl RunPlan for NoopPlan {
    fn initial(&self) -> Decision {
        Decision::new(self.0, "noop: maximum scale-out")
    }

    fn after_job(&mut self, _ended: &JobEnded<'_>) -> Option<Decision> {
        None
    }
}
