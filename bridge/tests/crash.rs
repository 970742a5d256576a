//! `kill -9` during a burst of writes: the database opens afterwards, passes SQLite's integrity
//! check, and no run whose end was committed is lost.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use pacer_bridge::store::Store;

/// Writes are committed in groups at most 5 ms apart; a run acknowledged this long before the
/// kill is certainly committed.
const SURELY_COMMITTED: Duration = Duration::from_millis(500);

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

    let acknowledged: Arc<Mutex<Vec<(String, Instant)>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (endpoint, acknowledged, stop) =
                (endpoint.clone(), acknowledged.clone(), stop.clone());
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
                    acknowledged.lock().unwrap().push((app, Instant::now()));
                    n += 1;
                }
            })
        })
        .collect();

    // At least 2.5 s of burst, and enough runs acknowledged well before the kill even when the
    // machine is busy (the check is about what survives, not about speed).
    let burst = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let surely_committed = acknowledged
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, at)| at.elapsed() >= SURELY_COMMITTED)
            .count();
        let long_enough = burst.elapsed() >= Duration::from_millis(2_500);
        if (long_enough && surely_committed > 30) || burst.elapsed() >= Duration::from_secs(60) {
            break;
        }
    }
    Command::new("kill")
        .args(["-KILL", &bridge.id().to_string()])
        .status()
        .unwrap();
    let killed_at = Instant::now();
    bridge.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().unwrap();
    }

    let committed: Vec<String> = acknowledged
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, at)| killed_at.duration_since(*at) >= SURELY_COMMITTED)
        .map(|(app, _)| app.clone())
        .collect();
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
