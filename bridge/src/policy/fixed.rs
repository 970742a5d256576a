use super::{Decision, JobEnded, Policy, RunPlan, RunSpec};
use crate::history::RunRecord;

/// Always the same scale-out (clamped to the run's range).
pub struct Fixed(pub u32);

struct FixedPlan(u32);

impl Policy for Fixed {
    fn name(&self) -> String {
        format!("fixed:{}", self.0)
    }

    fn cheap_decisions(&self) -> bool {
        true
    }

    fn start_run(&self, run: &RunSpec, _history: &[RunRecord]) -> Box<dyn RunPlan> {
        Box::new(FixedPlan(run.range.clamp(i64::from(self.0))))
    }
}

impl RunPlan for FixedPlan {
    fn initial(&self) -> Decision {
        Decision::new(self.0, "fixed scale-out")
    }

    fn after_job(&mut self, ended: &JobEnded<'_>) -> Option<Decision> {
        (ended.current_scale_out != self.0).then(|| Decision::new(self.0, "fixed scale-out"))
    }
}
