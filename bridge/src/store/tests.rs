use super::*;

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
    store.write(Write::JobStarted {
        app_event_id: id.into(),
        job_id,
        start_ms: start,
        scale_out: scale_out.0,
    });
    store.write(Write::JobEnded {
        app_event_id: id.into(),
        job_id,
        end_ms: end,
        scale_out: scale_out.1,
        rescaling_time_ratio: 0.0,
        stages: Vec::new(),
    });
}

#[test]
fn history_survives_reopening() {
    let dir = tempdir();
    let path = dir.join("history.db");
    {
        let store = Store::open(&path).unwrap();
        store.write(Write::AppStarted(Box::new(app("1", "kmeans", 100))));
        job(&store, "1", 0, 100, 400, (4, 4));
        job(&store, "1", 1, 400, 900, (4, 6));
        store.write(Write::Recommended {
            app_event_id: "1".into(),
            time_ms: 400,
            event_type: "JOB_END",
            job_id: Some(0),
            from: Some(4),
            to: 6,
            reason: "behind".into(),
        });
        store.write(Write::AppEnded {
            app_event_id: "1".into(),
            end_ms: 1_000,
            final_scale_out: 6,
        });
        store.write(Write::AppStarted(Box::new(app("2", "kmeans", 2_000))));
        job(&store, "2", 0, 2_000, 2_300, (4, 4));
        store.write(Write::JobStarted {
            app_event_id: "2".into(),
            job_id: 1,
            start_ms: 2_300,
            scale_out: 4,
        });
        store.close();
    }
    let store = Store::open(&path).unwrap();
    let reader = store.reader().unwrap();
    assert_eq!(reader.max_app_event_id().unwrap(), 2);

    let runs = reader.finished_runs("kmeans", 10).unwrap();
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

    let running = reader.running_app("2").unwrap().expect("app 2 still runs");
    assert_eq!(running.app.app_name, "kmeans");
    assert_eq!(running.jobs.len(), 1);
    assert_eq!(running.open_jobs, vec![(1, 2_300, 4)]);
    assert_eq!(running.current_scale_out, 4);
    assert!(reader.running_app("1").unwrap().is_none());

    let summaries = reader.runs(None).unwrap();
    assert_eq!(summaries[0].scale_outs, vec![4, 6]);
    assert_eq!(summaries[0].met_target(), Some(true));
    assert_eq!(summaries[1].met_target(), None);

    let rows = reader.trace_rows("kmeans").unwrap();
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
        store.write(Write::AppStarted(Box::new(app(&i.to_string(), "x", i))));
    }
    store.flush();
    assert_eq!(store.reader().unwrap().counts().unwrap().0, 500);
}

fn tempdir() -> std::path::PathBuf {
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
