//! One stage across its attempts, and how it is reported in JOB_END.

use pacer_protocol::{self as protocol, ratio, StageMetrics};

use super::rescaling::Mark;

/// What Spark's `StageInfo` says about a stage attempt.
#[derive(Debug, Clone, Copy)]
pub struct StageInfo<'a> {
    pub stage_id: i32,
    pub attempt_id: i32,
    pub name: &'a str,
    pub num_tasks: i32,
    pub parent_ids: &'a [i32],
}

/// A stage attempt's completion (`SparkListenerStageCompleted`).
#[derive(Debug, Clone, Copy)]
pub struct StageCompletion<'a> {
    pub info: StageInfo<'a>,
    pub submission_time_ms: Option<i64>,
    pub completion_time_ms: i64,
    /// `None` or empty when the attempt succeeded.
    pub failure_reason: Option<&'a str>,
    pub metrics: TaskMetricTotals,
    pub rdds: RddTotals,
}

/// Totals of the stage attempt's task metrics, as Spark aggregates them in `StageInfo.taskMetrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskMetricTotals {
    pub executor_run_time_ms: i64,
    pub executor_cpu_time_ns: i64,
    pub jvm_gc_time_ms: i64,
    /// Remote plus local shuffle bytes read.
    pub shuffle_read_bytes: i64,
    pub shuffle_write_bytes: i64,
    pub input_bytes: i64,
    pub output_bytes: i64,
    pub disk_bytes_spilled: i64,
    pub peak_execution_memory: i64,
}

impl TaskMetricTotals {
    fn add(&mut self, other: &TaskMetricTotals) {
        self.executor_run_time_ms += other.executor_run_time_ms;
        self.executor_cpu_time_ns += other.executor_cpu_time_ns;
        self.jvm_gc_time_ms += other.jvm_gc_time_ms;
        self.shuffle_read_bytes += other.shuffle_read_bytes;
        self.shuffle_write_bytes += other.shuffle_write_bytes;
        self.input_bytes += other.input_bytes;
        self.output_bytes += other.output_bytes;
        self.disk_bytes_spilled += other.disk_bytes_spilled;
        self.peak_execution_memory += other.peak_execution_memory;
    }

    /// The ratios of docs/PROTOCOL.md, each by the division rule.
    pub fn ratios(&self) -> StageMetrics {
        let f = |v: i64| v as f64;
        StageMetrics {
            cpu_utilization: ratio(
                f(self.executor_cpu_time_ns),
                f(self.executor_run_time_ms) * 1e6,
            ),
            gc_time_ratio: ratio(f(self.jvm_gc_time_ms), f(self.executor_run_time_ms)),
            shuffle_read_write_ratio: ratio(
                f(self.shuffle_read_bytes),
                f(self.shuffle_write_bytes),
            ),
            input_output_ratio: ratio(f(self.input_bytes), f(self.output_bytes)),
            memory_spill_ratio: ratio(f(self.disk_bytes_spilled), f(self.peak_execution_memory)),
        }
    }
}

/// Sums over the stage's RDDs (`StageInfo.rddInfos`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RddTotals {
    pub num_partitions: i64,
    pub num_cached_partitions: i64,
    pub mem_size: i64,
    pub disk_size: i64,
}

/// A point of the stage's life: when, the rescaling-time mark, and the scale-out then.
#[derive(Debug, Clone, Copy)]
pub struct Moment {
    pub mark: Mark,
    pub scale_out: u32,
}

#[derive(Debug)]
struct Attempt {
    id: i32,
    submitted: Option<Moment>,
    completed: Option<Moment>,
    failure_reason: String,
    metrics: TaskMetricTotals,
    rdds: RddTotals,
}

const INCOMPLETE_REASON: &str = "no stage completion event before the job ended";

/// A stage id with all its attempts and the active jobs that list it.
#[derive(Debug)]
pub struct StageRecord {
    name: String,
    num_tasks: i32,
    parent_ids: Vec<i32>,
    attempts: Vec<Attempt>,
    /// Active jobs whose stage list names this stage.
    pub listing_jobs: Vec<i32>,
}

impl StageRecord {
    /// A stage named by a job but not (yet) submitted.
    pub fn listed() -> StageRecord {
        StageRecord {
            name: String::new(),
            num_tasks: 0,
            parent_ids: Vec::new(),
            attempts: Vec::new(),
            listing_jobs: Vec::new(),
        }
    }

    fn describe(&mut self, info: &StageInfo<'_>) {
        if self.name != info.name {
            info.name.clone_into(&mut self.name);
        }
        self.num_tasks = self.num_tasks.max(info.num_tasks);
        if self.parent_ids != info.parent_ids {
            self.parent_ids = info.parent_ids.to_vec();
        }
    }

    fn attempt_mut(&mut self, id: i32) -> &mut Attempt {
        let index = match self.attempts.iter().position(|a| a.id == id) {
            Some(i) => i,
            None => {
                self.attempts.push(Attempt {
                    id,
                    submitted: None,
                    completed: None,
                    failure_reason: String::new(),
                    metrics: TaskMetricTotals::default(),
                    rdds: RddTotals::default(),
                });
                self.attempts.len() - 1
            }
        };
        &mut self.attempts[index]
    }

    /// Returns true when this attempt was not running before.
    pub fn submitted(&mut self, info: &StageInfo<'_>, at: Moment) -> bool {
        self.describe(info);
        let attempt = self.attempt_mut(info.attempt_id);
        let newly_running = attempt.submitted.is_none() && attempt.completed.is_none();
        attempt.submitted.get_or_insert(at);
        newly_running
    }

    /// Records a completion. `submitted_at` stands in for a submission event never seen.
    /// Returns true when the attempt was running before.
    pub fn completed(
        &mut self,
        completion: &StageCompletion<'_>,
        at: Moment,
        submitted_at: Moment,
    ) -> bool {
        self.describe(&completion.info);
        let attempt = self.attempt_mut(completion.info.attempt_id);
        let was_running = attempt.submitted.is_some() && attempt.completed.is_none();
        attempt.submitted.get_or_insert(submitted_at);
        attempt.completed = Some(at);
        completion
            .failure_reason
            .unwrap_or("")
            .clone_into(&mut attempt.failure_reason);
        attempt.metrics = completion.metrics;
        attempt.rdds = completion.rdds;
        was_running
    }

    pub fn is_running(&self) -> bool {
        self.attempts.iter().any(|a| a.completed.is_none())
    }

    pub fn running_attempts(&self) -> usize {
        self.attempts
            .iter()
            .filter(|a| a.completed.is_none())
            .count()
    }

    /// The stage as JOB_END reports it: times span first submission to last completion,
    /// task metrics are summed over all attempts, identity and failure come from the latest
    /// attempt. An attempt still open when the job ended is closed at `job_end`.
    pub fn to_payload(&self, stage_id: i32, job_end: Moment) -> protocol::Stage {
        let latest = self.attempts.iter().max_by_key(|a| a.id);
        let start = self
            .attempts
            .iter()
            .filter_map(|a| a.submitted)
            .min_by_key(|m| m.mark.time_ms)
            .unwrap_or(job_end);
        let incomplete = self.attempts.iter().any(|a| a.completed.is_none());
        let end = if incomplete {
            job_end
        } else {
            self.attempts
                .iter()
                .filter_map(|a| a.completed)
                .max_by_key(|m| m.mark.time_ms)
                .unwrap_or(job_end)
        };
        let mut metrics = TaskMetricTotals::default();
        for attempt in &self.attempts {
            metrics.add(&attempt.metrics);
        }
        let rdds = self
            .attempts
            .iter()
            .filter(|a| a.completed.is_some())
            .max_by_key(|a| a.id)
            .map(|a| a.rdds)
            .unwrap_or_default();
        let failure_reason = match latest {
            Some(a) if a.completed.is_none() => INCOMPLETE_REASON.to_string(),
            Some(a) => a.failure_reason.clone(),
            None => String::new(),
        };
        protocol::Stage {
            stage_id: stage_id.to_string(),
            stage_name: self.name.clone(),
            num_tasks: self.num_tasks.into(),
            parent_stage_ids: self.parent_ids.iter().map(|&p| p.into()).collect(),
            attempt_id: latest.map_or(0, |a| a.id).into(),
            failure_reason,
            start_time: start.mark.time_ms,
            end_time: end.mark.time_ms,
            start_scale_out: start.scale_out.into(),
            end_scale_out: end.scale_out.into(),
            rescaling_time_ratio: start.mark.ratio_until(end.mark),
            rdd_num_partitions: rdds.num_partitions,
            rdd_num_cached_partitions: rdds.num_cached_partitions,
            rdd_mem_size: rdds.mem_size,
            rdd_disk_size: rdds.disk_size,
            metrics: metrics.ratios(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moment(time_ms: i64, cumulative_ms: i64, scale_out: u32) -> Moment {
        Moment {
            mark: Mark {
                time_ms,
                cumulative_ms,
            },
            scale_out,
        }
    }

    fn info(attempt_id: i32, num_tasks: i32) -> StageInfo<'static> {
        StageInfo {
            stage_id: 3,
            attempt_id,
            name: "map at App.scala:10",
            num_tasks,
            parent_ids: &[1, 2],
        }
    }

    fn completion(
        attempt_id: i32,
        num_tasks: i32,
        failure: Option<&'static str>,
        run_ms: i64,
    ) -> StageCompletion<'static> {
        StageCompletion {
            info: info(attempt_id, num_tasks),
            submission_time_ms: None,
            completion_time_ms: 0,
            failure_reason: failure,
            metrics: TaskMetricTotals {
                executor_run_time_ms: run_ms,
                executor_cpu_time_ns: run_ms * 500_000,
                jvm_gc_time_ms: run_ms / 10,
                shuffle_read_bytes: 0,
                shuffle_write_bytes: 100,
                input_bytes: 50,
                output_bytes: 0,
                disk_bytes_spilled: 0,
                peak_execution_memory: 0,
            },
            rdds: RddTotals {
                num_partitions: num_tasks.into(),
                num_cached_partitions: 1,
                mem_size: 10,
                disk_size: 0,
            },
        }
    }

    #[test]
    fn metric_ratios_follow_the_division_rule() {
        let m = completion(0, 4, None, 1_000).metrics.ratios();
        assert_eq!(m.cpu_utilization, 0.5);
        assert_eq!(m.gc_time_ratio, 0.1);
        assert_eq!(m.shuffle_read_write_ratio, 0.0);
        assert_eq!(m.input_output_ratio, 1.0);
        assert_eq!(m.memory_spill_ratio, 0.0);
    }

    #[test]
    fn retried_stage_spans_attempts_and_sums_metrics() {
        let mut s = StageRecord::listed();
        assert!(s.submitted(&info(0, 8), moment(100, 0, 2)));
        s.completed(
            &completion(0, 8, Some("FetchFailed"), 1_000),
            moment(400, 0, 2),
            moment(100, 0, 2),
        );
        assert!(s.submitted(&info(1, 3), moment(500, 0, 3)));
        s.completed(
            &completion(1, 3, None, 300),
            moment(900, 200, 4),
            moment(500, 0, 3),
        );
        let p = s.to_payload(3, moment(1_000, 200, 4));
        assert_eq!(p.stage_id, "3");
        assert_eq!(p.attempt_id, 1);
        assert_eq!(p.failure_reason, "");
        assert_eq!((p.start_time, p.end_time), (100, 900));
        assert_eq!((p.start_scale_out, p.end_scale_out), (2, 4));
        assert_eq!(p.num_tasks, 8);
        assert_eq!(p.parent_stage_ids, vec![1, 2]);
        assert_eq!(p.rdd_num_partitions, 3, "RDD totals of the latest attempt");
        assert_eq!(p.rescaling_time_ratio, 0.25);
        assert_eq!(p.metrics.gc_time_ratio, 130.0 / 1_300.0);
    }

    #[test]
    fn stage_without_completion_is_closed_at_job_end() {
        let mut s = StageRecord::listed();
        s.submitted(&info(0, 2), moment(100, 0, 2));
        assert!(s.is_running());
        let p = s.to_payload(3, moment(300, 0, 5));
        assert_eq!(p.end_time, 300);
        assert_eq!(p.end_scale_out, 5);
        assert!(!p.failure_reason.is_empty());
    }

    #[test]
    fn completion_without_submission_uses_its_own_submission_time() {
        let mut s = StageRecord::listed();
        let was_running = s.completed(
            &completion(0, 2, None, 10),
            moment(300, 0, 2),
            moment(120, 0, 1),
        );
        assert!(!was_running);
        assert!(!s.is_running());
        let p = s.to_payload(3, moment(400, 0, 2));
        assert_eq!((p.start_time, p.end_time, p.start_scale_out), (120, 300, 1));
    }
}
