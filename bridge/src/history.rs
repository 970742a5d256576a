//! Run history: what policies learn from.

/// One finished job of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobRecord {
    pub job_id: i64,
    /// Executors while the job ran.
    pub scale_out: u32,
    pub duration_ms: i64,
}

/// How a policy derives the scale-out a job ran at from the executors reported at its start
/// (JOB_START's `num_executors`) and at its end (JOB_END's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobScaleOut {
    /// JOB_END's executors (the original Ellis bridge's definition).
    AtEnd,
    /// The mean of both, rounded half up: a job that spans a rescaling ran partly at each.
    Mean,
}

impl JobScaleOut {
    /// The job's scale-out from whichever of its start and end executors is known (a message
    /// may be lost); None when neither is.
    pub fn of(self, start: Option<i64>, end: Option<i64>) -> Option<u32> {
        let executors = match (self, start, end) {
            (JobScaleOut::Mean, Some(start), Some(end)) => (start + end + 1) / 2,
            (_, _, Some(end)) => end,
            (_, Some(start), None) => start,
            (_, None, None) => return None,
        };
        Some(executors.max(0) as u32)
    }
}

/// One earlier run of an application.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub app_event_id: String,
    /// `is_adaptive` as the run reported it (false: a profiling run).
    pub is_adaptive: bool,
    pub start_ms: i64,
    pub runtime_ms: i64,
    pub target_ms: i64,
    pub jobs: Vec<JobRecord>,
}

impl RunRecord {
    /// Ellis's definition: all jobs ran at one scale-out.
    pub fn is_fixed_scale_out(&self) -> bool {
        match self.jobs.first() {
            Some(first) => self.jobs.iter().all(|j| j.scale_out == first.scale_out),
            None => false,
        }
    }

    pub fn total_job_time_ms(&self) -> i64 {
        self.jobs.iter().map(|j| j.duration_ms).sum()
    }
}

/// The inclusive scale-out range a run may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleOutRange {
    pub min: u32,
    pub max: u32,
}

impl ScaleOutRange {
    pub fn new(min: u32, max: u32) -> ScaleOutRange {
        let min = min.max(1);
        ScaleOutRange {
            min,
            max: max.max(min),
        }
    }

    pub fn len(&self) -> usize {
        (self.max - self.min + 1) as usize
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn values(&self) -> impl Iterator<Item = u32> {
        self.min..=self.max
    }

    pub fn index(&self, scale_out: u32) -> usize {
        (scale_out.clamp(self.min, self.max) - self.min) as usize
    }

    pub fn at(&self, index: usize) -> u32 {
        self.min + index as u32
    }

    pub fn clamp(&self, scale_out: i64) -> u32 {
        scale_out.clamp(i64::from(self.min), i64::from(self.max)) as u32
    }

    pub fn midpoint(&self) -> u32 {
        (self.min + self.max) / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_scale_out_by_rule() {
        assert_eq!(JobScaleOut::AtEnd.of(Some(4), Some(2)), Some(2));
        assert_eq!(JobScaleOut::Mean.of(Some(4), Some(1)), Some(3));
        for rule in [JobScaleOut::AtEnd, JobScaleOut::Mean] {
            assert_eq!(rule.of(Some(4), None), Some(4), "{rule:?}");
            assert_eq!(rule.of(None, Some(3)), Some(3), "{rule:?}");
            assert_eq!(rule.of(None, None), None, "{rule:?}");
            assert_eq!(rule.of(Some(-1), Some(-1)), Some(0), "{rule:?}");
        }
    }
}
