//! The pacer-bridge binary's runs, export and bench commands.

mod common;

use std::process::Command;

use common::*;
use pacer_bridge::trace;

fn bridge(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pacer-bridge"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn runs_and_export_show_the_history() {
    let dir = TempDir::new("cli");
    let db = dir.path().join("h.db");
    let server = start("ellis", &db);
    let client = Client::connect(server.endpoint());
    let (profiling, _) = run_app(&client, "KMeans", false, 0, 1_000_000, 3, |_, s| 12_000 / s);
    let (adaptive, _) = run_app(&client, "KMeans", true, 10_000, 2_000_000, 3, |_, s| {
        12_000 / s
    });
    run_app(&client, "Other", true, 1_000, 3_000_000, 1, |_, _| 5_000);
    server.stop();
    let db_arg = db.to_str().unwrap();

    let (ok, table, err) = bridge(&["runs", "--db", db_arg]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("ID") && lines[0].contains("SCALE-OUTS"));
    assert!(
        lines[1].contains("KMeans") && lines[1].contains("profiling"),
        "{table}"
    );
    assert!(
        lines[3].contains("Other") && lines[3].contains(" no "),
        "missed its target: {table}"
    );

    let (ok, json, _) = bridge(&[
        "runs", "--db", db_arg, "--app", "KMeans", "--format", "json",
    ]);
    assert!(ok);
    let runs: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 2);
    assert_eq!(runs[0]["app_event_id"], profiling.as_str());
    assert_eq!(runs[1]["app_event_id"], adaptive.as_str());
    assert_eq!(runs[1]["met_target"], true, "{json}");

    let out = dir.path().join("kmeans.csv");
    let (ok, _, err) = bridge(&[
        "export",
        "--db",
        db_arg,
        "--app",
        "KMeans",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with(trace::HEADER));
    let parsed = trace::parse(&text).unwrap();
    assert_eq!(parsed.len(), 2);
    assert!(parsed
        .iter()
        .all(|r| r.jobs.len() == 3 && r.app_name == "KMeans"));

    let (ok, _, err) = bridge(&["export", "--db", db_arg, "--app", "Nobody"]);
    assert!(!ok && err.contains("no finished runs of 'Nobody'"), "{err}");
    let (ok, _, err) = bridge(&[
        "runs",
        "--db",
        dir.path().join("missing.db").to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("no history database"), "{err}");
}

#[test]
fn runs_shows_one_run_with_its_decisions_reasons_and_predictions() {
    let dir = TempDir::new("cli-run");
    let db = dir.path().join("h.db");
    let server = start("ellis", &db);
    let client = Client::connect(server.endpoint());
    // Four profiling runs of ten jobs of 32 s·executors, then an adaptive run whose jobs take
    // twice as long as they did: ellis falls behind its target and scales out.
    let mut t = 0;
    for _ in 0..4 {
        run_app(&client, "Iterative", false, 0, t, 10, |_, e| 32_000 / e);
        t += 1_000_000;
    }
    let (id, scale_outs) = run_app(&client, "Iterative", true, 60_000, t, 10, |_, e| 64_000 / e);
    assert!(
        scale_outs.windows(2).any(|w| w[0] != w[1]),
        "{scale_outs:?}"
    );
    server.stop();
    let db_arg = db.to_str().unwrap();

    let (ok, json, err) = bridge(&["runs", "--db", db_arg, "--run", &id, "--format", "json"]);
    assert!(ok, "{err}");
    let run: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(run["app_event_id"], id.as_str());
    assert_eq!(run["app_name"], "Iterative");
    assert_eq!(run["policy"], "ellis");
    assert_eq!(run["adaptive"], true);
    assert_eq!(run["target_ms"], 60_000);
    assert_eq!(run["met_target"], false, "{json}");
    assert_eq!(run["outcome"], "missed");
    let decisions = run["decisions"].as_array().unwrap();
    assert_eq!(decisions[0]["event_type"], "APPLICATION_START");
    assert_eq!(decisions[0]["at_ms"], 0);
    assert_eq!(decisions[0]["to_scale_out"], scale_outs[0]);
    let change = decisions
        .iter()
        .find(|d| d["event_type"] == "JOB_END" && d["from_scale_out"] != d["to_scale_out"])
        .unwrap_or_else(|| panic!("no rescaling among the decisions: {json}"));
    let reason = change["reason"].as_str().unwrap();
    assert!(!reason.is_empty() && change["job_id"].is_i64(), "{change}");
    assert!(run["rescalings"].as_u64().unwrap() >= 1);
    let jobs = run["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 10);
    assert_eq!(jobs[0]["started_at_ms"], 0);
    let runtime = run["runtime_ms"].as_i64().unwrap();
    for job in jobs {
        let predicted = job["predicted_end_at_ms"].as_i64().unwrap();
        assert_eq!(
            job["prediction_error_ms"].as_i64(),
            Some(predicted - runtime),
            "{job}"
        );
        assert_eq!(
            job["duration_ms"].as_i64().unwrap(),
            job["ended_at_ms"].as_i64().unwrap() - job["started_at_ms"].as_i64().unwrap()
        );
    }
    // After the last job nothing is left to run: the predicted end is that job's end, 100 ms
    // before the application's.
    assert_eq!(jobs[9]["prediction_error_ms"], -100);

    let (ok, table, err) = bridge(&["runs", "--db", db_arg, "--run", &id]);
    assert!(ok, "{err}");
    assert!(
        table.starts_with(&format!("RUN           {id}\n")),
        "{table}"
    );
    for text in [
        "APP           Iterative",
        "POLICY        ellis",
        "OUTCOME       missed",
    ] {
        assert!(table.contains(text), "{text} in {table}");
    }
    assert!(table.contains(reason), "the reason '{reason}' in {table}");
    let job9 = table
        .lines()
        .skip_while(|l| !l.starts_with("JOBS"))
        .find(|l| l.trim_start().starts_with("9 "))
        .unwrap_or_else(|| panic!("no row of job 9: {table}"));
    let actual_end = format!("{:.1}", runtime as f64 / 1000.0);
    assert!(
        job9.contains(&actual_end) && job9.trim_end().ends_with("-0.1"),
        "the prediction, the actual end and the error: {job9}"
    );

    let (ok, out, err) = bridge(&["runs", "--db", db_arg, "--run", "999"]);
    assert!(!ok && out.is_empty(), "{out}");
    assert!(
        err.contains("no run with APP_EVENT_ID '999'") && err.contains("h.db"),
        "{err}"
    );
    let (ok, _, err) = bridge(&["runs", "--db", db_arg, "--run", &id, "--app", "Iterative"]);
    assert!(!ok && err.contains("--app"), "{err}");
}

#[test]
fn bench_reports_json() {
    let dir = TempDir::new("bench");
    let server = start("noop", &dir.path().join("h.db"));
    let (ok, out, err) = bridge(&[
        "bench",
        "--connect",
        server.endpoint(),
        "--apps",
        "3",
        "--seconds",
        "1",
        "--format",
        "json",
    ]);
    server.stop();
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    for key in ["messages_per_s", "p50_ms", "p99_ms", "max_ms", "errors"] {
        assert!(report.get(key).is_some(), "{key} in {out}");
    }
    assert!(report["messages_per_s"].as_f64().unwrap() > 10.0, "{out}");
    assert_eq!(report["errors"], 0);
}

#[test]
fn serve_rejects_a_bad_policy_and_a_bad_address() {
    let (ok, _, err) = bridge(&["serve", "--policy", "magic", "--db", "/nonexistent/x.db"]);
    assert!(!ok && err.contains("unknown policy 'magic'"), "{err}");
    let dir = TempDir::new("bad-bind");
    let db = dir.path().join("h.db");
    let (ok, _, err) = bridge(&["serve", "--bind", "nonsense", "--db", db.to_str().unwrap()]);
    assert!(
        !ok && err.contains("--bind nonsense") && err.contains("tcp://HOST:PORT"),
        "{err}"
    );
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("tcp://{}", taken.local_addr().unwrap());
    let (ok, _, err) = bridge(&["serve", "--bind", &endpoint, "--db", db.to_str().unwrap()]);
    assert!(
        !ok && err.contains(&format!("cannot bind {endpoint}")),
        "{err}"
    );
}

/// The scale-outs of four profiling runs chosen by `serve` started with `args`.
fn profiling_choices(args: &[&str]) -> Vec<i64> {
    let dir = TempDir::new("profiling");
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pacer-bridge"))
        .args(["serve", "--bind", &endpoint, "--db"])
        .arg(dir.path().join("h.db"))
        .args(args)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = Client::connect(&endpoint);
    let choices = (0..4)
        .map(|i| {
            let (_, scale_outs) = run_app(&client, "Random", false, 0, i * 1_000, 1, |_, _| 10);
            scale_outs[0]
        })
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    choices
}

#[test]
fn random_profiling_is_reproducible_from_its_seed() {
    let seeded = [
        "--policy",
        "ellis-abe",
        "--profiling",
        "random",
        "--profiling-seed",
        "5",
    ];
    let first = profiling_choices(&seeded);
    assert!(first.iter().all(|s| (2..=10).contains(s)), "{first:?}");
    assert_eq!(
        profiling_choices(&seeded),
        first,
        "the same seed, the same choices"
    );
    assert_eq!(
        profiling_choices(&["--policy", "ellis-abe"]),
        vec![2, 10, 6, 4],
        "bisection by default"
    );
    let (ok, _, err) = bridge(&["serve", "--profiling-seed", "5"]);
    assert!(
        !ok && err.contains("--profiling-seed needs --profiling random"),
        "{err}"
    );
}
