//! `kill -9` during a burst of writes: the database opens afterwards, passes SQLite's integrity
//! check, and no run whose end was committed is lost.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use pacer_bridge::store::Store;

/// The finished runs a separate reader sees committed in the database (WAL: a reader sees
/// exactly the committed transactions). Replies do not wait for the group commit, so what a
/// client was told says nothing certain about what is on disk; this does.
fn committed_runs(db: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut query = conn
        .prepare(
            "SELECT app_event_id FROM applications WHERE app_name = 'Burst' AND end_ms IS NOT NULL",
        )
        .unwrap();
    let runs = query.query_map([], |r| r.get(0)).unwrap();
    runs.collect::<Result<_, _>>().unwrap()
}

fn serve(endpoint: &str, db: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_pacer-bridge"))
        .args([
            "serve",
            "--bind",
            endpoint,
            "--policy",
            "noop",
            "--log-level",
            "warn",
            "--db",
        ])
        .arg(db)
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn kill_9_during_a_burst_loses_no_committed_run() {
    let dir = TempDir::new("crash");
    let db = dir.path().join("h.db");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let mut bridge = serve(&endpoint, &db);

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (endpoint, stop) = (endpoint.clone(), stop.clone());
            std::thread::spawn(move || {
                let context = zmq::Context::new();
                let socket =
                    connected_socket(&context, zmq::REQ, &endpoint, Duration::from_secs(2));
                let send = |m: &serde_json::Value| -> Option<serde_json::Value> {
                    socket.send(serde_json::to_vec(m).unwrap(), 0).ok()?;
                    serde_json::from_slice(&socket.recv_bytes(0).ok()?).ok()
                };
                let mut n = 0i64;
                while !stop.load(Ordering::Relaxed) {
                    let t = n * 10_000 + w;
                    let Some(reply) = send(&app_start("Burst", true, 60_000, t)) else {
                        return;
                    };
                    let app = id(&reply);
                    for job in 0..3 {
                        if send(&job_start(&app, job, t + job * 100, 4)).is_none()
                            || send(&job_end(&app, job, t + job * 100 + 90, 4)).is_none()
                        {
                            return;
                        }
                    }
                    if send(&app_end(&app, t + 400, 4)).is_none() {
                        return;
                    }
                    n += 1;
                }
            })
        })
        .collect();

    // At least 2.5 s of burst and more than 20 finished runs on disk, then kill -9 at once while
    // the writes go on: every run the reader saw committed must survive.
    let burst = Instant::now();
    let committed = loop {
        std::thread::sleep(Duration::from_millis(100));
        let committed = committed_runs(&db);
        let long_enough = burst.elapsed() >= Duration::from_millis(2_500);
        if (long_enough && committed.len() > 20) || burst.elapsed() >= Duration::from_secs(60) {
            break committed;
        }
    };
    Command::new("kill")
        .args(["-KILL", &bridge.id().to_string()])
        .status()
        .unwrap();
    bridge.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().unwrap();
    }
    assert!(
        committed.len() > 20,
        "the burst wrote too little: {}",
        committed.len()
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    drop(conn);

    // The bridge starts again on the same database and finds every committed run.
    let mut restarted = serve(&endpoint, &db);
    let client = Client::connect(&endpoint);
    let reply = client.send(&app_start("Burst", true, 60_000, 999_999_999));
    assert!(reply["app_event_id"].is_string());
    Command::new("kill")
        .args(["-TERM", &restarted.id().to_string()])
        .status()
        .unwrap();
    restarted.wait().unwrap();

    let store = Store::open(&db).unwrap();
    let runs = store.reader().unwrap().runs(Some("Burst")).unwrap();
    for app in &committed {
        let run = runs.iter().find(|r| &r.app_event_id == app);
        assert!(run.is_some_and(|r| r.end_ms.is_some()), "run {app} lost");
    }
    println!(
        "{} runs committed before the kill, all found",
        committed.len()
    );
}
