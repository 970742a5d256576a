use super::*;

fn info(stage_id: i32, attempt_id: i32) -> StageInfo<'static> {
    StageInfo {
        stage_id,
        attempt_id,
        name: "stage",
        num_tasks: 4,
        parent_ids: &[],
    }
}

fn done(
    stage_id: i32,
    attempt_id: i32,
    submitted: i64,
    completed: i64,
) -> StageCompletion<'static> {
    StageCompletion {
        info: info(stage_id, attempt_id),
        submission_time_ms: Some(submitted),
        completion_time_ms: completed,
        failure_reason: None,
        metrics: TaskMetricTotals {
            executor_run_time_ms: 100,
            ..TaskMetricTotals::default()
        },
        rdds: RddTotals::default(),
    }
}

fn run_stage(a: &mut Aggregator, stage_id: i32, from: i64, to: i64) {
    a.stage_submitted(&info(stage_id, 0), from);
    a.stage_completed(&done(stage_id, 0, from, to));
}

fn stage_ids(summary: &JobSummary) -> Vec<&str> {
    summary.stages.keys().map(String::as_str).collect()
}

fn with_executors(n: u32) -> Aggregator {
    let mut a = Aggregator::new(None);
    a.application_started(0);
    for i in 1..=n {
        a.executor_added(&i.to_string(), "host", 0, Pool::Internal);
    }
    a
}

#[test]
fn job_reports_the_stages_it_ran_and_releases_them() {
    let mut a = with_executors(2);
    assert!(a.job_started(0, &[0, 1]));
    run_stage(&mut a, 0, 10, 20);
    run_stage(&mut a, 1, 20, 40);
    let s = a.job_ended(0, 50);
    assert_eq!(stage_ids(&s), vec!["0", "1"]);
    assert_eq!(s.num_executors, 2);
    let stage = &s.stages["1"];
    assert_eq!((stage.start_time, stage.end_time), (20, 40));
    assert_eq!((stage.start_scale_out, stage.end_scale_out), (2, 2));
    assert_eq!(a.footprint().jobs, 0);
    assert_eq!(a.footprint().stages, 0);
}

#[test]
fn skipped_stages_are_not_reported() {
    let mut a = with_executors(1);
    a.job_started(0, &[0, 1]);
    run_stage(&mut a, 0, 10, 20);
    run_stage(&mut a, 1, 20, 30);
    a.job_ended(0, 30);
    // Job 1 reuses stage 1's shuffle output: stage 1 is listed but skipped.
    a.job_started(1, &[0, 1, 2]);
    run_stage(&mut a, 2, 40, 50);
    let s = a.job_ended(1, 50);
    assert_eq!(stage_ids(&s), vec!["2"]);
    assert_eq!(a.footprint().stages, 0);
}

#[test]
fn stage_completed_before_a_later_job_started_is_skipped_for_it() {
    let mut a = with_executors(1);
    a.job_started(0, &[5]);
    run_stage(&mut a, 5, 10, 20);
    // Job 0 still active, job 1 lists stage 5 which is already done.
    a.job_started(1, &[5, 6]);
    run_stage(&mut a, 6, 30, 40);
    assert_eq!(stage_ids(&a.job_ended(1, 45)), vec!["6"]);
    assert_eq!(stage_ids(&a.job_ended(0, 46)), vec!["5"]);
}

#[test]
fn stage_shared_by_concurrent_jobs_is_reported_by_both() {
    let mut a = with_executors(1);
    a.job_started(0, &[3]);
    a.stage_submitted(&info(3, 0), 10);
    a.job_started(1, &[3, 4]);
    a.stage_completed(&done(3, 0, 10, 30));
    run_stage(&mut a, 4, 30, 40);
    let first = a.job_ended(0, 35);
    assert_eq!(stage_ids(&first), vec!["3"]);
    assert_eq!(a.footprint().stages, 2, "stage 3 still listed by job 1");
    let second = a.job_ended(1, 45);
    assert_eq!(stage_ids(&second), vec!["3", "4"]);
    assert_eq!(second.stages["3"], first.stages["3"]);
    assert_eq!(a.footprint().stages, 0);
}

#[test]
fn retried_attempts_make_one_record() {
    let mut a = with_executors(2);
    a.job_started(0, &[1, 2]);
    run_stage(&mut a, 1, 10, 20);
    a.stage_submitted(&info(2, 0), 20);
    let mut failed = done(2, 0, 20, 30);
    failed.failure_reason = Some("FetchFailed(...)");
    a.stage_completed(&failed);
    // Spark resubmits the parent and the failed stage.
    a.stage_submitted(&info(1, 1), 31);
    a.stage_completed(&done(1, 1, 31, 35));
    a.stage_submitted(&info(2, 1), 36);
    a.stage_completed(&done(2, 1, 36, 60));
    let s = a.job_ended(0, 61);
    assert_eq!(s.stages.len(), 2);
    let stage = &s.stages["2"];
    assert_eq!(stage.attempt_id, 1);
    assert_eq!(stage.failure_reason, "");
    assert_eq!((stage.start_time, stage.end_time), (20, 60));
    assert_eq!(s.stages["1"].attempt_id, 1);
    assert_eq!(a.footprint().stages, 0);
}

#[test]
fn failed_job_reports_the_failure() {
    let mut a = with_executors(1);
    a.job_started(0, &[1]);
    a.stage_submitted(&info(1, 3), 10);
    let mut failed = done(1, 3, 10, 20);
    failed.failure_reason = Some("Job aborted");
    a.stage_completed(&failed);
    let s = a.job_ended(0, 21);
    assert_eq!(s.stages["1"].failure_reason, "Job aborted");
    assert_eq!(s.stages["1"].attempt_id, 3);
}

#[test]
fn job_without_stages() {
    let mut a = with_executors(3);
    a.job_started(7, &[]);
    let s = a.job_ended(7, 10);
    assert!(s.stages.is_empty());
    assert_eq!(s.num_executors, 3);
    assert_eq!(s.rescaling_time_ratio, 0.0);
}

#[test]
fn out_of_order_and_lost_events_are_tolerated() {
    let mut a = Aggregator::new(None);
    // Executor events before the application start (Spark posts them so in standalone mode).
    a.executor_added("1", "host", -5, Pool::Internal);
    a.executor_removed("9", -4);
    a.application_started(0);
    a.task_ended("1");
    // Job end without a start.
    let s = a.job_ended(42, 10);
    assert!(s.stages.is_empty());
    // Stage completion whose submission was lost.
    a.job_started(1, &[2]);
    a.stage_completed(&done(2, 0, 15, 25));
    let s = a.job_ended(1, 30);
    assert_eq!(stage_ids(&s), vec!["2"]);
    assert_eq!(s.stages["2"].start_time, 15);
    // Duplicate job start is ignored.
    a.job_started(3, &[4]);
    assert!(!a.job_started(3, &[5]));
    a.job_ended(3, 40);
    // A late completion after its job ended leaves nothing behind.
    a.job_started(4, &[6]);
    a.stage_submitted(&info(6, 0), 50);
    let s = a.job_ended(4, 55);
    assert_eq!(s.stages["6"].end_time, 55, "open stage closed at job end");
    assert_eq!(a.footprint().stages, 1, "still running: kept as an orphan");
    a.stage_completed(&done(6, 0, 50, 60));
    assert_eq!(
        a.footprint(),
        Footprint {
            jobs: 0,
            stages: 0,
            executors: 1
        }
    );
}

#[test]
fn executors_lost_and_re_added() {
    let mut a = Aggregator::new(Some(2));
    a.application_started(0);
    a.executor_added("1", "host", 0, Pool::Internal);
    a.executor_added("2", "host", 100, Pool::Internal);
    a.job_started(0, &[0]);
    a.stage_submitted(&info(0, 0), 200);
    a.executor_removed("2", 300);
    a.executor_added("3", "host", 700, Pool::Internal);
    a.stage_completed(&done(0, 0, 200, 1_200));
    let s = a.job_ended(0, 1_200);
    assert_eq!(s.num_executors, 2);
    let stage = &s.stages["0"];
    assert_eq!((stage.start_scale_out, stage.end_scale_out), (2, 2));
    assert_eq!(stage.rescaling_time_ratio, 0.4);
    // Ramp-up 0..100 and replacement 300..700 over the app's first 1200 ms.
    assert_eq!(s.rescaling_time_ratio, 500.0 / 1_200.0);
}

#[test]
fn executors_pending_removal_are_not_part_of_the_scale_out() {
    let mut a = with_executors(4);
    a.executors_mut()
        .mark_kill_requested(&["1".to_string(), "2".to_string()], 50);
    assert_eq!(a.num_executors(), 2, "JOB_START's num_executors");
    assert!(a.job_started(0, &[0]));
    run_stage(&mut a, 0, 100, 200);
    assert_eq!(a.job_ended(0, 200).num_executors, 2);
    // Once removed, they stay out of it.
    a.executor_removed("1", 300);
    assert_eq!(a.num_executors(), 2);
}

#[test]
fn requested_scale_out_counts_as_rescaling_until_reached() {
    let mut a = with_executors(2);
    a.job_started(0, &[]);
    a.scale_out_requested(1_000, 4);
    a.executor_added("3", "host", 1_500, Pool::Internal);
    a.executor_added("4", "host", 2_000, Pool::Internal);
    let s = a.job_ended(0, 4_000);
    assert_eq!(s.rescaling_time_ratio, 0.25);
}

#[test]
fn idle_when_no_stage_runs_even_if_task_ends_were_lost() {
    let mut a = with_executors(2);
    a.job_started(0, &[0]);
    a.stage_submitted(&info(0, 0), 10);
    a.task_started("1", 11);
    a.task_started("2", 11);
    assert!(a.executors().idle_candidates(2).is_empty());
    a.task_ended("1");
    assert_eq!(a.executors().idle_candidates(2), vec!["1".to_string()]);
    // The task end for executor 2 is lost; the stage completes.
    a.stage_completed(&done(0, 0, 10, 20));
    assert_eq!(a.executors().idle_candidates(2).len(), 2);
}

#[test]
fn state_stays_bounded_over_100k_jobs() {
    let mut a = with_executors(4);
    let mut stage_id = 0;
    for job in 0..100_000 {
        let t = i64::from(job) * 10;
        // Iterative apps list their whole lineage; most of it is skipped.
        let listed: Vec<i32> = (stage_id.max(3) - 3..=stage_id + 1).collect();
        a.job_started(job, &listed);
        for s in [stage_id, stage_id + 1] {
            a.stage_submitted(&info(s, 0), t);
            a.task_started("1", t);
            a.task_ended("1");
            a.stage_completed(&done(s, 0, t, t + 5));
        }
        let summary = a.job_ended(job, t + 9);
        assert_eq!(summary.stages.len(), 2);
        stage_id += 2;
    }
    assert_eq!(
        a.footprint(),
        Footprint {
            jobs: 0,
            stages: 0,
            executors: 4
        }
    );
}

#[test]
fn lost_end_events_cannot_grow_state_without_bound() {
    let mut a = with_executors(1);
    for job in 0..(MAX_ACTIVE_JOBS as i32 + 500) {
        // Job end and stage completion events are all lost.
        a.job_started(job, &[job]);
        a.stage_submitted(&info(job, 0), 0);
    }
    let f = a.footprint();
    assert!(f.jobs <= MAX_ACTIVE_JOBS, "{f:?}");
    assert!(f.stages <= MAX_ACTIVE_JOBS + MAX_ORPHAN_STAGES, "{f:?}");
}
