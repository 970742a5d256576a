use super::*;
use crate::history::{JobRecord, JobScaleOut};

fn app(id: &str, name: &str, start_ms: i64) -> AppRow {
    AppRow {
        app_event_id: id.into(),
        application_id: format!("app-{id}"),
        app_name: name.into(),
        algorithm_name: name.into(),
        algorithm_args: vec!["a".into()],
        is_adaptive: true,
        is_training: false,
        datasize_mb: 10,
        target_runtime_ms: 1_000,
        min_executors: 2,
        max_executors: 8,
        driver_specs: "{}".into(),
        executor_specs: "{}".into(),
        environment_specs: "{}".into(),
        policy: "ellis".into(),
        start_ms,
        initial_scale_out: 4,
    }
}

fn job(store: &Store, id: &str, job_id: i64, start: i64, end: i64, scale_out: (i64, i64)) {
    store.write(Change::JobStarted(JobStartRow {
        app_event_id: id.into(),
        job_id,
        start_ms: start,
        scale_out: scale_out.0,
    }));
    store.write(Change::JobEnded(JobEndRow {
        app_event_id: id.into(),
        job_id,
        end_ms: end,
        scale_out: scale_out.1,
        rescaling_time_ratio: 0.0,
        predicted_end_ms: None,
        stages: Vec::new(),
    }));
}

#[test]
fn history_survives_reopening() {
    let dir = tempdir();
    let path = dir.join("history.db");
    {
        let store = Store::open(&path).unwrap();
        store.write(Change::AppStarted(Box::new(app("1", "kmeans", 100))));
        job(&store, "1", 0, 100, 400, (4, 4));
        job(&store, "1", 1, 400, 900, (4, 6));
        store.write(Change::Recommended(RecommendationRow {
            app_event_id: "1".into(),
            time_ms: 400,
            event_type: "JOB_END",
            job_id: Some(0),
            from: Some(4),
            to: 6,
            reason: "behind".into(),
        }));
        store.write(Change::AppEnded(AppEndRow {
            app_event_id: "1".into(),
            end_ms: 1_000,
            final_scale_out: 6,
        }));
        store.write(Change::AppStarted(Box::new(app("2", "kmeans", 2_000))));
        job(&store, "2", 0, 2_000, 2_300, (4, 4));
        store.write(Change::JobStarted(JobStartRow {
            app_event_id: "2".into(),
            job_id: 1,
            start_ms: 2_300,
            scale_out: 4,
        }));
        store.close();
    }
    let store = Store::open(&path).unwrap();
    let reader = store.reader().unwrap();
    assert_eq!(reader.max_app_event_id().unwrap(), 2);

    let runs = reader
        .finished_runs("kmeans", 10, JobScaleOut::Mean)
        .unwrap();
    assert_eq!(runs.len(), 1, "only finished runs are history");
    assert_eq!(runs[0].runtime_ms, 900);
    assert_eq!(
        runs[0].jobs,
        vec![
            JobRecord {
                job_id: 0,
                scale_out: 4,
                duration_ms: 300
            },
            JobRecord {
                job_id: 1,
                scale_out: 5,
                duration_ms: 500
            },
        ]
    );

    let at_end = reader
        .finished_runs("kmeans", 10, JobScaleOut::AtEnd)
        .unwrap();
    assert_eq!(
        at_end[0].jobs[1].scale_out, 6,
        "JOB_END's executors by the original's definition"
    );

    let running = reader
        .running_app("2", JobScaleOut::Mean)
        .unwrap()
        .expect("app 2 still runs");
    assert_eq!(running.app.app_name, "kmeans");
    assert_eq!(running.jobs.len(), 1);
    assert_eq!(running.open_jobs, vec![(1, 2_300, 4)]);
    assert_eq!(running.current_scale_out, 4);
    assert!(reader
        .running_app("1", JobScaleOut::Mean)
        .unwrap()
        .is_none());

    let summaries = reader.runs(None).unwrap();
    assert_eq!(summaries[0].scale_outs, vec![4, 6]);
    assert_eq!(summaries[0].met_target(), Some(true));
    assert_eq!(summaries[1].met_target(), None);

    let rows = reader.trace_rows("kmeans", JobScaleOut::Mean).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[1].job_start_ms, rows[1].job_end_ms, rows[1].scale_out),
        (400, 900, 5)
    );
}

#[test]
fn flush_waits_for_commit() {
    let dir = tempdir();
    let store = Store::open(&dir.join("h.db")).unwrap();
    for i in 0..500 {
        store.write(Change::AppStarted(Box::new(app(&i.to_string(), "x", i))));
    }
    store.flush();
    assert_eq!(store.reader().unwrap().counts().unwrap().0, 500);
}

/// The layout of the releases before the schema had a version: the CREATE statements and a
/// run as those releases wrote them, verbatim.
const UNVERSIONED_DATABASE: &str = r#"
CREATE TABLE applications (
    app_event_id TEXT PRIMARY KEY, application_id TEXT NOT NULL, app_name TEXT NOT NULL,
    algorithm_name TEXT NOT NULL, algorithm_args TEXT NOT NULL, is_adaptive INTEGER NOT NULL,
    is_training INTEGER NOT NULL, datasize_mb INTEGER NOT NULL, target_runtime_ms INTEGER NOT NULL,
    min_executors INTEGER NOT NULL, max_executors INTEGER NOT NULL, driver_specs TEXT NOT NULL,
    executor_specs TEXT NOT NULL, environment_specs TEXT NOT NULL, policy TEXT NOT NULL,
    start_ms INTEGER NOT NULL, end_ms INTEGER, initial_scale_out INTEGER NOT NULL,
    final_scale_out INTEGER);
CREATE INDEX applications_by_name ON applications (app_name, start_ms);
CREATE TABLE jobs (
    app_event_id TEXT NOT NULL, job_id INTEGER NOT NULL, start_ms INTEGER, end_ms INTEGER,
    start_scale_out INTEGER, end_scale_out INTEGER, rescaling_time_ratio REAL,
    PRIMARY KEY (app_event_id, job_id));
CREATE TABLE stages (
    app_event_id TEXT NOT NULL, job_id INTEGER NOT NULL, stage_id INTEGER NOT NULL,
    stage_name TEXT NOT NULL, num_tasks INTEGER NOT NULL, parent_stage_ids TEXT NOT NULL,
    attempt_id INTEGER NOT NULL, failure_reason TEXT NOT NULL, start_time INTEGER NOT NULL,
    end_time INTEGER NOT NULL, start_scale_out INTEGER NOT NULL, end_scale_out INTEGER NOT NULL,
    rescaling_time_ratio REAL NOT NULL, rdd_num_partitions INTEGER NOT NULL,
    rdd_num_cached_partitions INTEGER NOT NULL, rdd_mem_size INTEGER NOT NULL,
    rdd_disk_size INTEGER NOT NULL, cpu_utilization REAL NOT NULL, gc_time_ratio REAL NOT NULL,
    shuffle_read_write_ratio REAL NOT NULL, input_output_ratio REAL NOT NULL,
    memory_spill_ratio REAL NOT NULL, PRIMARY KEY (app_event_id, job_id, stage_id));
CREATE TABLE recommendations (
    id INTEGER PRIMARY KEY, app_event_id TEXT NOT NULL, time_ms INTEGER NOT NULL,
    event_type TEXT NOT NULL, job_id INTEGER, from_scale_out INTEGER,
    to_scale_out INTEGER NOT NULL, reason TEXT NOT NULL);
CREATE INDEX recommendations_by_app ON recommendations (app_event_id, id);
INSERT INTO applications VALUES ('7', 'app-7', 'kmeans', 'kmeans', '["a"]', 1, 0, 10, 1000, 2, 8,
    '{}', '{}', '{}', 'ellis', 100, 900, 4, 6);
INSERT INTO jobs VALUES ('7', 0, 100, 800, 4, 6, 0.0);
INSERT INTO recommendations VALUES (1, '7', 100, 'APPLICATION_START', NULL, NULL, 4, 'start');
INSERT INTO recommendations VALUES (2, '7', 800, 'JOB_END', 0, 4, 6, 'behind');
"#;

#[test]
fn a_database_from_before_schema_versions_opens_and_keeps_its_runs() {
    let dir = tempdir();
    let path = dir.join("old.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch(UNVERSIONED_DATABASE)
        .unwrap();
    let store = Store::open(&path).unwrap();
    let reader = store.reader().unwrap();
    assert_eq!(schema::version(&reader.conn).unwrap(), SCHEMA_VERSION);
    let runs = reader
        .finished_runs("kmeans", 10, JobScaleOut::Mean)
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].runtime_ms, 800);
    assert_eq!(runs[0].jobs[0].scale_out, 5);
    assert_eq!(reader.runs(None).unwrap()[0].scale_outs, vec![4, 6]);
    // And it takes new runs.
    store.write(Change::AppStarted(Box::new(app("8", "kmeans", 2_000))));
    job(&store, "8", 0, 2_000, 2_500, (4, 4));
    store.flush();
    assert_eq!(reader.counts().unwrap(), (2, 2, 0, 2));
}

#[test]
fn a_database_of_a_newer_schema_is_refused_with_both_versions() {
    let dir = tempdir();
    let path = dir.join("new.db");
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    let error = Store::open(&path).err().expect("refused").to_string();
    assert!(
        error.contains(&format!("schema version {}", SCHEMA_VERSION + 1))
            && error.contains(&format!("up to {SCHEMA_VERSION}")),
        "{error}"
    );
}

#[test]
fn every_column_a_row_writes_is_in_the_schema() {
    let dir = tempdir();
    let store = Store::open(&dir.join("h.db")).unwrap();
    let reader = store.reader().unwrap();
    for columns in rows::ALL_COLUMNS {
        let mut info = reader
            .conn
            .prepare(&format!("PRAGMA table_info({})", columns.table))
            .unwrap();
        let existing: Vec<String> = info
            .query_map([], |r| r.get(1))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for name in columns.names {
            assert!(
                existing.iter().any(|e| e == name),
                "{}.{name} is not in the schema",
                columns.table
            );
        }
    }
}

#[test]
fn stages_are_stored_column_by_column() {
    let dir = tempdir();
    let store = Store::open(&dir.join("h.db")).unwrap();
    store.write(Change::AppStarted(Box::new(app("1", "kmeans", 100))));
    let stage = pacer_protocol::samples::job_end().stages["7"].clone();
    store.write(Change::JobEnded(JobEndRow {
        app_event_id: "1".into(),
        job_id: 3,
        end_ms: 900,
        scale_out: 6,
        rescaling_time_ratio: 0.125,
        predicted_end_ms: Some(1_500),
        stages: vec![stage.clone()],
    }));
    store.flush();
    let reader = store.reader().unwrap();
    let row: (i64, String, String, i64, f64, i64, f64) = reader
        .conn
        .query_row(
            "SELECT stage_id, stage_name, parent_stage_ids, end_scale_out, rescaling_time_ratio,
             rdd_num_cached_partitions, memory_spill_ratio FROM stages WHERE app_event_id = '1'",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(
        row,
        (
            7,
            stage.stage_name,
            "[5,6]".to_string(),
            stage.end_scale_out,
            stage.rescaling_time_ratio,
            stage.rdd_num_cached_partitions,
            stage.metrics.memory_spill_ratio
        )
    );
}

/// A fresh, empty directory for one test (shared by the crate's tests that need a database).
pub(crate) fn tempdir() -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "pacer-store-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_run_detail_has_its_jobs_predictions_and_decisions_in_order() {
    let dir = tempdir();
    let store = Store::open(&dir.join("h.db")).unwrap();
    store.write(Change::AppStarted(Box::new(app("1", "kmeans", 100))));
    job(&store, "1", 1, 600, 900, (4, 6));
    job(&store, "1", 0, 100, 500, (4, 4));
    store.write(Change::Recommended(RecommendationRow {
        app_event_id: "1".into(),
        time_ms: 500,
        event_type: "JOB_END",
        job_id: Some(0),
        from: Some(4),
        to: 6,
        reason: "behind".into(),
    }));
    store.write(Change::JobEnded(JobEndRow {
        app_event_id: "1".into(),
        job_id: 1,
        end_ms: 900,
        scale_out: 6,
        rescaling_time_ratio: 0.0,
        predicted_end_ms: Some(1_400),
        stages: Vec::new(),
    }));
    store.flush();
    let reader = store.reader().unwrap();
    let detail = reader.run_detail("1").unwrap().unwrap();
    assert_eq!(
        detail.jobs.iter().map(|j| j.job_id).collect::<Vec<_>>(),
        [0, 1]
    );
    assert_eq!(detail.jobs[1].predicted_end_ms, Some(1_400));
    assert_eq!(detail.jobs[0].predicted_end_ms, None);
    assert_eq!(detail.decisions.len(), 1);
    assert_eq!(detail.decisions[0].reason, "behind");
    assert_eq!(detail.summary.scale_outs, [4, 6]);
    assert!(reader.run_detail("2").unwrap().is_none());
}

/// start_ms, start_scale_out, end_ms, end_scale_out, predicted_end_ms of a jobs row.
type JobColumns = [Option<i64>; 5];

/// The jobs row after `changes`, each list of changes one batch (flushed after it).
fn job_row_after(batches: Vec<Vec<Change>>) -> JobColumns {
    let dir = tempdir();
    let store = Store::open(&dir.join("h.db")).unwrap();
    for batch in batches {
        for change in batch {
            store.write(change);
        }
        store.flush();
    }
    let reader = store.reader().unwrap();
    reader
        .conn
        .query_row(
            "SELECT start_ms, start_scale_out, end_ms, end_scale_out, predicted_end_ms FROM jobs
             WHERE app_event_id = '1' AND job_id = 3",
            [],
            |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]),
        )
        .unwrap()
}

#[test]
fn a_jobs_start_and_end_in_one_batch_make_the_same_row_as_apart() {
    let start = |ms: i64, scale_out: i64| {
        Change::JobStarted(JobStartRow {
            app_event_id: "1".into(),
            job_id: 3,
            start_ms: ms,
            scale_out,
        })
    };
    let end = |ms: i64| {
        Change::JobEnded(JobEndRow {
            app_event_id: "1".into(),
            job_id: 3,
            end_ms: ms,
            scale_out: 6,
            rescaling_time_ratio: 0.5,
            predicted_end_ms: Some(2_000),
            stages: Vec::new(),
        })
    };
    let expected = [Some(100), Some(4), Some(900), Some(6), Some(2_000)];
    assert_eq!(
        job_row_after(vec![vec![start(100, 4)], vec![end(900)]]),
        expected
    );
    assert_eq!(job_row_after(vec![vec![start(100, 4), end(900)]]), expected);
    // The end first (its start was late), a repeated start: the last of each counts.
    assert_eq!(job_row_after(vec![vec![end(900), start(100, 4)]]), expected);
    assert_eq!(
        job_row_after(vec![vec![start(50, 2), start(100, 4), end(900)]]),
        expected
    );
    assert_eq!(
        job_row_after(vec![vec![start(50, 2)], vec![start(100, 4), end(900)]]),
        expected
    );
}
