//! pacer-bridge serve, with real ZeroMQ clients and a real SQLite file.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use pacer_bridge::history::{JobScaleOut, RunRecord};
use pacer_bridge::policy::{Decision, JobEnded, Policy, RunPlan, RunSpec};
use pacer_bridge::store::Store;
use pacer_protocol::Codec;
use serde_json::{json, Value};

#[test]
fn a_whole_application_is_answered_and_recorded() {
    let dir = TempDir::new("whole");
    let db = dir.path().join("h.db");
    let server = start("noop", &db);
    let client = Client::connect(server.endpoint());
    let reply = client.send(&app_start("Demo", true, 60_000, 1_000));
    let id = id(&reply);
    assert_eq!(
        scale_out(&reply),
        10,
        "noop answers APPLICATION_START with the maximum"
    );
    assert_eq!(
        client.send(&job_start(&id, 0, 1_100, 4)),
        json!({"app_event_id": id, "recommended_scale_out": 4})
    );
    assert_eq!(
        scale_out(&client.send(&job_end(&id, 0, 2_000, 5))),
        5,
        "no new decision: the reply echoes the message's scale-out"
    );
    assert_eq!(scale_out(&client.send(&app_end(&id, 2_500, 5))), 5);
    server.stop();

    let store = Store::open(&db).unwrap();
    let reader = store.reader().unwrap();
    let runs = reader.runs(Some("Demo")).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].runtime_ms(), Some(1_500));
    assert_eq!(runs[0].met_target(), Some(true));
    let (apps, jobs, stages, recommendations) = reader.counts().unwrap();
    assert_eq!((apps, jobs, stages, recommendations), (1, 1, 1, 1));
    let history = reader
        .finished_runs("Demo", 10, JobScaleOut::AtEnd)
        .unwrap();
    assert_eq!(history[0].jobs[0].duration_ms, 900);
}

#[test]
fn replies_in_the_codec_of_the_request() {
    let dir = TempDir::new("codec");
    let server = start("noop", &dir.path().join("h.db"));
    let packed = Client::with_codec(server.endpoint(), Codec::MessagePack);
    let reply = packed.raw(&rmp_serde::to_vec_named(&app_start("X", true, 1_000, 1)).unwrap());
    assert_eq!(Codec::detect(&reply), Some(Codec::MessagePack));
    let id = Codec::MessagePack
        .decode_reply(&reply)
        .unwrap()
        .app_event_id;
    let plain = Client::connect(server.endpoint());
    let reply = plain.raw(&serde_json::to_vec(&job_start(&id, 0, 2, 3)).unwrap());
    assert_eq!(Codec::detect(&reply), Some(Codec::Json));
    assert_eq!(
        Codec::Json
            .decode_reply(&reply)
            .unwrap()
            .recommended_scale_out,
        3
    );
    server.stop();
}

#[test]
fn dealer_clients_with_and_without_a_delimiter() {
    let dir = TempDir::new("dealer");
    let server = start("noop", &dir.path().join("h.db"));
    let context = zmq::Context::new();
    let dealer = context.socket(zmq::DEALER).unwrap();
    dealer.set_linger(0).unwrap();
    dealer.set_rcvtimeo(10_000).unwrap();
    dealer.connect(server.endpoint()).unwrap();
    let body = serde_json::to_vec(&app_start("D", true, 1_000, 1)).unwrap();
    dealer.send(&body, 0).unwrap();
    let frames = dealer.recv_multipart(0).unwrap();
    assert_eq!(frames.len(), 1);
    let id = Codec::Json.decode_reply(&frames[0]).unwrap().app_event_id;
    // Pipelined, REQ-style envelope: both answered, in order.
    for job in 0..2 {
        dealer
            .send_multipart(
                [
                    Vec::new(),
                    serde_json::to_vec(&job_start(&id, job, 5, job + 3)).unwrap(),
                ],
                0,
            )
            .unwrap();
    }
    for job in 0..2 {
        let frames = dealer.recv_multipart(0).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(
            Codec::Json
                .decode_reply(&frames[1])
                .unwrap()
                .recommended_scale_out,
            job + 3
        );
    }
    drop(dealer);
    server.stop();
}

#[test]
fn a_thousand_interleaved_applications_each_get_their_own_answers() {
    let dir = TempDir::new("thousand");
    let server = start("noop", &dir.path().join("h.db"));
    let context = zmq::Context::new();
    let sockets: Vec<zmq::Socket> = (0..1_000)
        .map(|_| {
            let s = context.socket(zmq::REQ).unwrap();
            s.set_linger(0).unwrap();
            s.set_rcvtimeo(30_000).unwrap();
            s.connect(server.endpoint()).unwrap();
            s
        })
        .collect();
    let exchange = |messages: Vec<Value>| -> Vec<Value> {
        for (socket, message) in sockets.iter().zip(&messages) {
            socket
                .send(serde_json::to_vec(message).unwrap(), 0)
                .unwrap();
        }
        sockets
            .iter()
            .map(|s| serde_json::from_slice(&s.recv_bytes(0).unwrap()).unwrap())
            .collect()
    };
    let started = exchange(
        (0..1_000)
            .map(|i| app_start(&format!("App{}", i % 10), true, 60_000, i))
            .collect(),
    );
    let ids: Vec<String> = started.iter().map(id).collect();
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 1_000);
    for round in 0..3 {
        let messages = ids
            .iter()
            .enumerate()
            .map(|(i, id)| job_start(id, round, 10 + round, (i % 30) as i64 + 1))
            .collect();
        for (i, reply) in exchange(messages).iter().enumerate() {
            assert_eq!(reply["app_event_id"], ids[i].as_str());
            assert_eq!(scale_out(reply), (i % 30) as i64 + 1);
        }
    }
    assert_eq!(server.counters().unknown_app.load(Ordering::Relaxed), 0);
    drop(sockets);
    server.stop();
}

#[test]
fn a_run_goes_on_after_a_restart() {
    let dir = TempDir::new("restart");
    let db = dir.path().join("h.db");
    let server = start("ellis", &db);
    let endpoint = server.endpoint().to_string();
    let client = Client::connect(&endpoint);
    let id = id(&client.send(&app_start("R", true, 60_000, 0)));
    client.send(&job_start(&id, 0, 10, 10));
    scale_out(&client.send(&job_end(&id, 0, 1_000, 10)));
    client.send(&job_start(&id, 1, 1_000, 10));
    server.stop();

    let restarted = start_with(
        pacer_bridge::policy::by_name("ellis").unwrap(),
        &db,
        &endpoint,
    );
    let client = Client::connect(&endpoint);
    assert_eq!(scale_out(&client.send(&job_end(&id, 1, 2_000, 10))), 10);
    assert_eq!(scale_out(&client.send(&app_end(&id, 2_100, 10))), 10);
    assert_eq!(
        restarted.counters().unknown_app.load(Ordering::Relaxed),
        0,
        "the run was known after the restart"
    );
    // A new run gets a new id, above the ones issued before the restart.
    let next = id_of(&client.send(&app_start("R", true, 60_000, 5_000)));
    assert!(next.parse::<u64>().unwrap() > id.parse::<u64>().unwrap());
    restarted.stop();

    let store = Store::open(&db).unwrap();
    let history = store
        .reader()
        .unwrap()
        .finished_runs("R", 10, JobScaleOut::AtEnd)
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        history[0].jobs.len(),
        2,
        "jobs before and after the restart"
    );
}

fn id_of(reply: &Value) -> String {
    id(reply)
}

#[test]
fn bad_input_is_answered_counted_and_survived() {
    let dir = TempDir::new("bad");
    let server = start("noop", &dir.path().join("h.db"));
    let client = Client::connect(server.endpoint());
    let valid_id = id(&client.send(&app_start("Ok", true, 1_000, 1)));
    let cases: Vec<(Vec<u8>, Option<i64>)> = vec![
        (vec![0xc3, 0x28, 0xff], None),
        (
            b"{\"event_type\": \"JOB_START\", \"payload\": {".to_vec(),
            None,
        ),
        (b"[1, 2, 3]".to_vec(), None),
        (
            br#"{"event_type":"STAGE_START","payload":{"app_event_id":"1","num_executors":6}}"#
                .to_vec(),
            Some(6),
        ),
        (
            br#"{"event_type":"JOB_END","payload":{"app_event_id":"1","num_executors":7}}"#
                .to_vec(),
            Some(7),
        ),
        (
            serde_json::to_vec(&job_start("no-such-app", 0, 1, 9)).unwrap(),
            Some(9),
        ),
        (vec![b'{'; 100_000], None),
    ];
    for (bytes, expected) in &cases {
        let reply: Value = serde_json::from_slice(&client.raw(bytes)).unwrap();
        match expected {
            Some(n) => assert_eq!(scale_out(&reply), *n, "{reply}"),
            None => assert!(reply["error"].is_string(), "{reply}"),
        }
    }
    let counters = server.counters();
    assert_eq!(counters.bad_messages.load(Ordering::Relaxed), 6);
    assert_eq!(counters.too_large.load(Ordering::Relaxed), 1);
    assert_eq!(counters.unknown_app.load(Ordering::Relaxed), 1);
    // Still serving.
    assert_eq!(scale_out(&client.send(&job_start(&valid_id, 0, 2, 3))), 3);
    server.stop();
}

/// Takes `delay` to plan runs of the application named "slow".
struct SlowFor {
    delay: Duration,
}

struct KeepPlan(u32);

impl RunPlan for KeepPlan {
    fn initial(&self) -> Decision {
        Decision::new(self.0, "test")
    }

    fn after_job(&mut self, _ended: &JobEnded<'_>) -> Option<Decision> {
        None
    }
}

impl Policy for SlowFor {
    fn name(&self) -> String {
        "slow-for-test".into()
    }

    fn start_run(&self, run: &RunSpec, _history: &[RunRecord]) -> Box<dyn RunPlan> {
        if run.app_name == "slow" {
            std::thread::sleep(self.delay);
        }
        Box::new(KeepPlan(run.range.min))
    }
}

#[test]
fn a_slow_policy_computation_does_not_delay_other_applications() {
    let dir = TempDir::new("slow");
    let delay = Duration::from_secs(3);
    let server = start_with(
        Arc::new(SlowFor { delay }),
        &dir.path().join("h.db"),
        "tcp://127.0.0.1:*",
    );
    let endpoint = server.endpoint().to_string();
    let slow = std::thread::spawn(move || {
        let started = Instant::now();
        Client::connect(&endpoint).send(&app_start("slow", true, 1_000, 1));
        started.elapsed()
    });
    std::thread::sleep(Duration::from_millis(200));
    // While the slow run is being planned, other applications keep being answered.
    let client = Client::connect(server.endpoint());
    let mut worst = Duration::ZERO;
    for i in 0..20 {
        let started = Instant::now();
        let id = id(&client.send(&app_start("fast", true, 1_000, i)));
        client.send(&job_start(&id, 0, i, 2));
        worst = worst.max(started.elapsed());
    }
    let slow_took = slow.join().unwrap();
    println!("slow application answered after {slow_took:?}; others within {worst:?}");
    assert!(slow_took >= delay);
    // Far below the slow computation: not queued behind it (a liveness bound, not a speed target).
    assert!(worst < delay / 3, "another application waited {worst:?}");
    server.stop();
}

/// Claims cheap decisions but blocks for `delay` after every job of "slow".
struct SlowDecisions {
    delay: Duration,
}

struct SlowDecisionPlan {
    slow: bool,
    delay: Duration,
}

impl RunPlan for SlowDecisionPlan {
    fn initial(&self) -> Decision {
        Decision::new(2, "test")
    }

    fn after_job(&mut self, _ended: &JobEnded<'_>) -> Option<Decision> {
        if self.slow {
            std::thread::sleep(self.delay);
        }
        None
    }
}

impl Policy for SlowDecisions {
    fn name(&self) -> String {
        "slow-decisions-for-test".into()
    }

    fn cheap_decisions(&self) -> bool {
        true
    }

    fn start_run(&self, run: &RunSpec, _history: &[RunRecord]) -> Box<dyn RunPlan> {
        Box::new(SlowDecisionPlan {
            slow: run.app_name == "slow",
            delay: self.delay,
        })
    }
}

#[test]
fn decisions_that_turn_out_slow_move_off_the_socket_thread() {
    let dir = TempDir::new("slow-decisions");
    let delay = Duration::from_millis(1_500);
    let server = start_with(
        Arc::new(SlowDecisions { delay }),
        &dir.path().join("h.db"),
        "tcp://127.0.0.1:*",
    );
    let slow = Client::connect(server.endpoint());
    let slow_id = id(&slow.send(&app_start("slow", true, 1_000, 1)));
    // The first slow decision is made on the socket thread and exposes the policy.
    slow.send(&job_end(&slow_id, 0, 10, 2));
    let endpoint = server.endpoint().to_string();
    let slow_again = std::thread::spawn(move || {
        let client = Client::connect(&endpoint);
        client.send(&job_end(&slow_id, 1, 20, 2));
    });
    std::thread::sleep(Duration::from_millis(200));
    let fast = Client::connect(server.endpoint());
    let fast_id = id(&fast.send(&app_start("fast", true, 1_000, 2)));
    let started = Instant::now();
    for job in 0..10 {
        fast.send(&job_end(&fast_id, job, 30 + job, 2));
    }
    let took = started.elapsed();
    slow_again.join().unwrap();
    // Ten decisions answered while the slow one was still being made: not behind it.
    assert!(took < delay / 3, "fast decisions took {took:?}");
    server.stop();
}

#[test]
fn ellis_explores_then_meets_a_target() {
    let dir = TempDir::new("ellis");
    let server = start("ellis", &dir.path().join("h.db"));
    let client = Client::connect(server.endpoint());
    // Ten jobs of 8 s · 4 executors / s.
    let duration = |_job: i64, executors: i64| 32_000 / executors.max(1);
    let mut t = 0;
    let mut explored = Vec::new();
    for _ in 0..4 {
        let (_, scale_outs) = run_app(&client, "Iterative", false, 0, t, 10, duration);
        assert!(
            scale_outs.windows(2).all(|w| w[0] == w[1]),
            "profiling runs keep their scale-out"
        );
        explored.push(scale_outs[0]);
        t += 1_000_000;
    }
    assert_eq!(explored, vec![2, 10, 6, 4]);
    // 10 jobs × 32 s / s ≤ 60 s needs s ≥ 6.
    let (_, scale_outs) = run_app(&client, "Iterative", true, 60_000, t, 10, duration);
    assert_eq!(scale_outs[0], 6, "{scale_outs:?}");
    server.stop();
}

#[test]
fn the_binary_shuts_down_cleanly_on_sigterm() {
    let dir = TempDir::new("sigterm");
    let db = dir.path().join("h.db");
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pacer-bridge"))
        .args(["serve", "--bind", &endpoint, "--policy", "noop", "--db"])
        .arg(&db)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let client = Client::connect(&endpoint);
    let (id, _) = run_app(&client, "Signal", true, 10_000, 0, 3, |_, _| 100);
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut log = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(
        log.contains("signal received: shutting down") && log.contains("stopped;"),
        "{log}"
    );
    let store = Store::open(&db).unwrap();
    let runs = store.reader().unwrap().runs(Some("Signal")).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].app_event_id, id);
    assert!(runs[0].end_ms.is_some(), "nothing lost at shutdown");
}

/// Recommends 3 executors after every job, whatever the application has.
struct Insistent;

struct InsistentPlan;

impl RunPlan for InsistentPlan {
    fn initial(&self) -> Decision {
        Decision::new(3, "test")
    }

    fn after_job(&mut self, _ended: &JobEnded<'_>) -> Option<Decision> {
        Some(Decision::new(3, "test"))
    }
}

impl Policy for Insistent {
    fn name(&self) -> String {
        "insistent-for-test".into()
    }

    fn start_run(&self, _run: &RunSpec, _history: &[RunRecord]) -> Box<dyn RunPlan> {
        Box::new(InsistentPlan)
    }
}

#[test]
fn a_decision_the_application_has_not_followed_is_answered_again_and_recorded_once() {
    let dir = TempDir::new("insistent");
    let db = dir.path().join("h.db");
    let server = start_with(Arc::new(Insistent), &db, "tcp://127.0.0.1:*");
    let client = Client::connect(server.endpoint());
    let id = id(&client.send(&app_start("Insist", true, 60_000, 0)));
    // The application keeps 5 executors: the decision (3) is what it is asked for each time.
    assert_eq!(scale_out(&client.send(&job_end(&id, 0, 100, 5))), 3);
    assert_eq!(scale_out(&client.send(&job_end(&id, 1, 200, 5))), 3);
    // Once it has 3, the reply is an echo.
    assert_eq!(scale_out(&client.send(&job_end(&id, 2, 300, 3))), 3);
    assert_eq!(scale_out(&client.send(&job_end(&id, 3, 400, 4))), 3);
    client.send(&app_end(&id, 500, 3));
    server.stop();
    let store = Store::open(&db).unwrap();
    let detail = store.reader().unwrap().run_detail(&id).unwrap().unwrap();
    assert_eq!(
        detail.decisions.len(),
        1,
        "only the initial decision: the target never changed"
    );
}
