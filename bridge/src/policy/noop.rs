use super::{Decision, Keep, Policy, RunPlan, RunSpec};
use crate::history::RunRecord;

/// Changes nothing: every reply echoes the scale-out the message reported. APPLICATION_START
/// carries none, so it is answered with the maximum (the same as Ellis without history).
pub struct Noop;

impl Policy for Noop {
    fn name(&self) -> String {
        "noop".into()
    }

    fn cheap_decisions(&self) -> bool {
        true
    }

    fn start_run(&self, run: &RunSpec, _history: &[RunRecord]) -> Box<dyn RunPlan> {
        Box::new(Keep(Decision::new(
            run.range.max,
            "noop: maximum scale-out",
        )))
    }
}
