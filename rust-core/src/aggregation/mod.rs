//! Per-application state fed by Spark's listener events; produces the facts of JOB_START and
//! JOB_END.
//!
//! It stays correct where listener events are irregular: retried stage attempts, skipped
//! stages (listed by a job, never submitted), stages shared by concurrent jobs, events out of
//! order or lost (Spark drops events when its listener queue is full), jobs without stages, and
//! executors lost and re-added. State of finished jobs and stages is released, so memory is
//! bounded by what is running, not by the length of the application.

mod executors;
mod rescaling;
mod stages;

use std::collections::{BTreeMap, BTreeSet};

pub use executors::{Executors, Pool};
pub use rescaling::{Mark, RescalingTimeline};
pub use stages::{RddTotals, StageCompletion, StageInfo, TaskMetricTotals};

use stages::{Moment, StageRecord};

use pacer_protocol::Stage;

/// Jobs whose end event never came are forgotten, oldest first, beyond this many.
const MAX_ACTIVE_JOBS: usize = 10_000;
/// Running stages that no active job lists (their completion event may be lost) are forgotten,
/// oldest first, beyond this many.
const MAX_ORPHAN_STAGES: usize = 10_000;

#[derive(Debug)]
struct JobRecord {
    listed_stages: Vec<i32>,
    /// Stages that ran for this job: submitted while it was active, or running when it started.
    ran_stages: Vec<i32>,
}

/// What JOB_END reports about a finished job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSummary {
    pub num_executors: u32,
    pub rescaling_time_ratio: f64,
    pub stages: BTreeMap<String, Stage>,
}

/// Sizes of the state held, to check that memory stays bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    pub jobs: usize,
    pub stages: usize,
    pub executors: usize,
}

#[derive(Debug)]
pub struct Aggregator {
    app_start: Option<Mark>,
    executors: Executors,
    timeline: RescalingTimeline,
    jobs: BTreeMap<i32, JobRecord>,
    stages: BTreeMap<i32, StageRecord>,
    orphan_stages: BTreeSet<i32>,
    running_attempts: usize,
}

impl Aggregator {
    /// `initial_executors`: the scale-out Spark starts with, when known.
    pub fn new(initial_executors: Option<u32>) -> Aggregator {
        Aggregator {
            app_start: None,
            executors: Executors::default(),
            timeline: RescalingTimeline::new(initial_executors),
            jobs: BTreeMap::new(),
            stages: BTreeMap::new(),
            orphan_stages: BTreeSet::new(),
            running_attempts: 0,
        }
    }

    pub fn application_started(&mut self, time_ms: i64) {
        self.app_start
            .get_or_insert(Mark::at(&self.timeline, time_ms));
    }

    /// Releases everything: the application is over.
    pub fn application_ended(&mut self) {
        self.jobs.clear();
        self.stages.clear();
        self.orphan_stages.clear();
        self.running_attempts = 0;
        self.executors.reset_running_tasks();
    }

    /// The scale-out on the wire: registered executors Pacer has not asked to kill (the original
    /// listener's block managers minus the driver; one pending removal is not part of it).
    pub fn num_executors(&self) -> u32 {
        self.executors.live_count()
    }

    pub fn executors(&self) -> &Executors {
        &self.executors
    }

    pub fn executors_mut(&mut self) -> &mut Executors {
        &mut self.executors
    }

    fn moment(&self, time_ms: i64) -> Moment {
        Moment {
            mark: Mark::at(&self.timeline, time_ms),
            scale_out: self.num_executors(),
        }
    }

    /// Returns false for a job already known (a duplicate event).
    pub fn job_started(&mut self, job_id: i32, stage_ids: &[i32]) -> bool {
        if self.jobs.contains_key(&job_id) {
            return false;
        }
        let mut job = JobRecord {
            listed_stages: Vec::with_capacity(stage_ids.len()),
            ran_stages: Vec::new(),
        };
        for &stage_id in stage_ids {
            if job.listed_stages.contains(&stage_id) {
                continue;
            }
            job.listed_stages.push(stage_id);
            let record = self
                .stages
                .entry(stage_id)
                .or_insert_with(StageRecord::listed);
            record.listing_jobs.push(job_id);
            self.orphan_stages.remove(&stage_id);
            if record.is_running() {
                job.ran_stages.push(stage_id);
            }
        }
        self.jobs.insert(job_id, job);
        while self.jobs.len() > MAX_ACTIVE_JOBS {
            let Some((&oldest, _)) = self.jobs.first_key_value() else {
                break;
            };
            self.forget_job(oldest);
        }
        true
    }

    /// The JOB_END facts of the job; its state (and that of stages no other job lists) is
    /// released. A job whose start was never seen reports no stages.
    pub fn job_ended(&mut self, job_id: i32, time_ms: i64) -> JobSummary {
        let end = self.moment(time_ms);
        let window_start = self.app_start.unwrap_or(end.mark);
        let stages = match self.jobs.get(&job_id) {
            Some(job) => job
                .ran_stages
                .iter()
                .filter_map(|id| self.stages.get(id).map(|record| (id, record)))
                .map(|(id, record)| (id.to_string(), record.to_payload(*id, end)))
                .collect(),
            None => BTreeMap::new(),
        };
        self.forget_job(job_id);
        JobSummary {
            num_executors: end.scale_out,
            rescaling_time_ratio: window_start.ratio_until(end.mark),
            stages,
        }
    }

    fn forget_job(&mut self, job_id: i32) {
        let Some(job) = self.jobs.remove(&job_id) else {
            return;
        };
        for stage_id in job.listed_stages {
            if let Some(record) = self.stages.get_mut(&stage_id) {
                record.listing_jobs.retain(|&j| j != job_id);
            }
            self.release_if_unused(stage_id);
        }
    }

    /// Drops a stage no active job lists once it stops running; a running one is kept as an
    /// orphan (its completion may still come), within a bound.
    fn release_if_unused(&mut self, stage_id: i32) {
        let Some(record) = self.stages.get(&stage_id) else {
            return;
        };
        if !record.listing_jobs.is_empty() {
            return;
        }
        if !record.is_running() {
            self.stages.remove(&stage_id);
            self.orphan_stages.remove(&stage_id);
            return;
        }
        self.orphan_stages.insert(stage_id);
        while self.orphan_stages.len() > MAX_ORPHAN_STAGES {
            let Some(oldest) = self.orphan_stages.pop_first() else {
                break;
            };
            if let Some(evicted) = self.stages.remove(&oldest) {
                self.running_attempts -= evicted.running_attempts();
            }
        }
        if self.running_attempts == 0 {
            self.executors.reset_running_tasks();
        }
    }

    pub fn stage_submitted(&mut self, info: &StageInfo<'_>, time_ms: i64) {
        let at = self.moment(time_ms);
        let record = self
            .stages
            .entry(info.stage_id)
            .or_insert_with(StageRecord::listed);
        if record.submitted(info, at) {
            self.running_attempts += 1;
        }
        self.attach_to_listing_jobs(info.stage_id);
        self.release_if_unused(info.stage_id);
    }

    pub fn stage_completed(&mut self, completion: &StageCompletion<'_>) {
        let stage_id = completion.info.stage_id;
        let at = self.moment(completion.completion_time_ms);
        let submitted_at = self.moment(
            completion
                .submission_time_ms
                .unwrap_or(completion.completion_time_ms),
        );
        let record = self
            .stages
            .entry(stage_id)
            .or_insert_with(StageRecord::listed);
        if record.completed(completion, at, submitted_at) {
            self.running_attempts -= 1;
        }
        self.attach_to_listing_jobs(stage_id);
        self.release_if_unused(stage_id);
        if self.running_attempts == 0 {
            self.executors.reset_running_tasks();
        }
    }

    fn attach_to_listing_jobs(&mut self, stage_id: i32) {
        let Some(record) = self.stages.get(&stage_id) else {
            return;
        };
        for job_id in &record.listing_jobs {
            if let Some(job) = self.jobs.get_mut(job_id) {
                if !job.ran_stages.contains(&stage_id) {
                    job.ran_stages.push(stage_id);
                }
            }
        }
    }

    /// Returns true when the task revealed an executor whose ExecutorAdded was lost.
    pub fn task_started(&mut self, executor_id: &str, time_ms: i64) -> bool {
        let revealed = self.executors.task_started(executor_id, time_ms);
        if revealed {
            self.timeline.count_changed(time_ms, self.executors.count());
        }
        revealed
    }

    pub fn task_ended(&mut self, executor_id: &str) {
        self.executors.task_ended(executor_id);
    }

    pub fn executor_added(
        &mut self,
        executor_id: &str,
        host: &str,
        time_ms: i64,
        pool: Pool,
    ) -> bool {
        let added = self.executors.add(executor_id, host, time_ms, pool);
        if added {
            self.timeline.count_changed(time_ms, self.executors.count());
        }
        added
    }

    pub fn executor_removed(&mut self, executor_id: &str, time_ms: i64) -> bool {
        let removed = self.executors.remove(executor_id);
        if removed {
            self.timeline.count_changed(time_ms, self.executors.count());
        }
        removed
    }

    /// Pacer asked for a new scale-out: a rescaling period begins.
    pub fn scale_out_requested(&mut self, time_ms: i64, target: u32) {
        self.timeline.requested(time_ms, target);
    }

    pub fn footprint(&self) -> Footprint {
        Footprint {
            jobs: self.jobs.len(),
            stages: self.stages.len(),
            executors: self.executors.footprint(),
        }
    }
}

#[cfg(test)]
mod tests;
