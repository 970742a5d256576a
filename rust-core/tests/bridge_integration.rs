//! A whole synthetic application driven through the Core API against a real ZeroMQ REP server.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{core_for, echo_script, unused_endpoint, FakeBridge, Response};
use pacer::{Action, Core, RddTotals, StageCompletion, StageInfo, TaskMetricTotals};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);

fn info(stage_id: i32) -> StageInfo<'static> {
    StageInfo {
        stage_id,
        attempt_id: 0,
        name: "collect at App.py:12",
        num_tasks: 4,
        parent_ids: &[],
    }
}

fn completion(stage_id: i32, submitted: i64, completed: i64) -> StageCompletion<'static> {
    StageCompletion {
        info: info(stage_id),
        submission_time_ms: Some(submitted),
        completion_time_ms: completed,
        failure_reason: None,
        metrics: TaskMetricTotals {
            executor_run_time_ms: 2_000,
            executor_cpu_time_ns: 1_000_000_000,
            jvm_gc_time_ms: 100,
            shuffle_read_bytes: 300,
            shuffle_write_bytes: 600,
            input_bytes: 1_000,
            output_bytes: 0,
            disk_bytes_spilled: 0,
            peak_execution_memory: 4_096,
        },
        rdds: RddTotals {
            num_partitions: 4,
            num_cached_partitions: 2,
            mem_size: 512,
            disk_size: 0,
        },
    }
}

fn start_app(core: &Core, executors: u32) {
    for id in 1..=executors {
        core.on_executor_added(&id.to_string(), "127.0.0.1", 900, false);
    }
    core.on_application_start("app-local-1", "Demo with Params(a, 3)", 1_000);
}

fn run_job(core: &Core, job_id: i32, stage_id: i32, t: i64) {
    core.on_job_start(job_id, t, &[stage_id]);
    core.on_stage_submitted(&info(stage_id), t + 1);
    core.on_task_start("1", t + 2);
    core.on_task_end("1");
    core.on_stage_completed(&completion(stage_id, t + 1, t + 9));
    core.on_job_end(job_id, t + 10);
}

/// Waits for actions, up to `WAIT`.
fn actions(core: &Core) -> Vec<Action> {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        let actions = core.next_actions(Duration::from_millis(200));
        if !actions.is_empty() {
            return actions;
        }
    }
    Vec::new()
}

fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn all_four_events_arrive_in_order_with_their_payloads() {
    let bridge = FakeBridge::start("tcp://127.0.0.1:*", echo_script("app-7", 2));
    let core = core_for(
        &bridge.endpoint,
        &[
            ("datasizeMb", "512"),
            ("spark.executor.memory", "2g"),
            ("pacer.runtime.sparkVersion", "3.5.1"),
        ],
    );
    start_app(&core, 2);
    run_job(&core, 0, 0, 2_000);
    core.on_application_end(3_000);
    let messages = bridge.wait_for(4, WAIT);
    core.close();

    let types: Vec<&str> = messages
        .iter()
        .map(|m| m["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "APPLICATION_START",
            "JOB_START",
            "JOB_END",
            "APPLICATION_END"
        ]
    );

    let start = &messages[0]["payload"];
    assert_eq!(start["application_id"], "app-local-1");
    assert_eq!(start["app_time"], 1_000);
    assert_eq!(start["app_specs"]["algorithm_name"], "Demo");
    assert_eq!(start["app_specs"]["algorithm_args"], json!(["a", "3"]));
    assert_eq!(start["app_specs"]["datasize_mb"], 512);
    assert_eq!(start["app_specs"]["target_runtime"], 600_000);
    assert_eq!(
        start["executor_specs"],
        json!({"cores": 1, "memory": "2g", "memory_overhead": "204.8m"})
    );
    assert_eq!(start["environment_specs"]["spark_version"], "3.5.1");

    for m in &messages[1..] {
        assert_eq!(m["payload"]["app_event_id"], "app-7", "{m}");
        assert_eq!(m["payload"]["num_executors"], 2, "{m}");
    }
    assert_eq!(messages[1]["payload"]["job_id"], 0);
    assert_eq!(messages[1]["payload"]["app_time"], 2_000);
    let job_end = &messages[2]["payload"];
    assert_eq!(job_end["app_time"], 2_010);
    let stage = &job_end["stages"]["0"];
    assert_eq!(stage["stage_id"], "0");
    assert_eq!(stage["num_tasks"], 4);
    assert_eq!(
        (stage["start_time"].as_i64(), stage["end_time"].as_i64()),
        (Some(2_001), Some(2_009))
    );
    assert_eq!(stage["metrics"]["cpu_utilization"], 0.5);
    assert_eq!(stage["metrics"]["gc_time_ratio"], 0.05);
    assert_eq!(stage["metrics"]["shuffle_read_write_ratio"], 0.5);
    assert_eq!(stage["metrics"]["input_output_ratio"], 1.0);
    assert_eq!(stage["rdd_num_cached_partitions"], 2);
    assert_eq!(messages[3]["payload"]["app_time"], 3_000);
}

#[test]
fn recommendations_become_actions_and_echoes_do_not() {
    let recommend = |message: &Value| {
        let n = message["payload"]["num_executors"].as_i64().unwrap_or(2);
        let scale_out = match message["event_type"].as_str() {
            Some("JOB_START") => 5,
            Some("JOB_END") => 2,
            _ => n,
        };
        Response::Value(json!({"app_event_id": "a", "recommended_scale_out": scale_out}))
    };
    let bridge = FakeBridge::start("tcp://127.0.0.1:*", Box::new(recommend));
    let core = core_for(&bridge.endpoint, &[("executorRequestTimeoutMs", "300")]);
    start_app(&core, 2);
    bridge.wait_for(1, WAIT);
    assert!(
        core.next_actions(Duration::from_millis(200)).is_empty(),
        "APPLICATION_START answer equals the scale-out"
    );

    core.on_job_start(0, 2_000, &[0]);
    assert_eq!(actions(&core), vec![Action::RequestTotal(5)]);
    for id in 3..=5 {
        core.on_executor_added(&id.to_string(), "127.0.0.1", 2_100, false);
    }
    core.on_stage_submitted(&info(0), 2_200);
    core.on_task_start("1", 2_201);
    core.on_task_start("2", 2_201);
    core.on_job_end(0, 2_300);
    let scale_down = actions(&core);
    assert_eq!(
        scale_down,
        vec![
            Action::Kill(vec!["5".into(), "4".into(), "3".into()]),
            Action::RequestTotal(2)
        ]
    );
    assert_eq!(
        core.stats().recommendations,
        3,
        "APPLICATION_START, JOB_START, JOB_END"
    );
}

#[test]
fn rate_limit_defers_instead_of_dropping() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let script = move |message: &Value| {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        let scale_out = if message["event_type"] == "APPLICATION_START" {
            2
        } else {
            [4, 6, 7][n.min(3) - 1]
        };
        Response::Value(json!({"app_event_id": "a", "recommended_scale_out": scale_out}))
    };
    let bridge = FakeBridge::start("tcp://127.0.0.1:*", Box::new(script));
    let core = core_for(&bridge.endpoint, &[("executorRequestTimeoutMs", "1500")]);
    start_app(&core, 2);
    core.on_job_start(0, 2_000, &[]);
    assert_eq!(actions(&core), vec![Action::RequestTotal(4)]);
    core.on_job_end(0, 2_100);
    core.on_job_start(1, 2_200, &[]);
    bridge.wait_for(4, WAIT);
    wait_until("both recommendations", || core.stats().recommendations == 4);
    // Both came within the window: the latest one is applied once the window has passed.
    assert_eq!(actions(&core), vec![Action::RequestTotal(7)]);
    core.close();
}

#[test]
fn bridge_killed_and_restarted_mid_app_recovers() {
    let bridge = FakeBridge::start("tcp://127.0.0.1:*", echo_script("r1", 2));
    let endpoint = bridge.endpoint.clone();
    let core = core_for(&endpoint, &[("responseTimeoutMs", "400")]);
    start_app(&core, 2);
    bridge.wait_for(1, WAIT);
    bridge.stop();

    core.on_job_start(0, 2_000, &[]);
    wait_until("the JOB_START timeout", || core.stats().reply_timeouts == 1);

    let restarted = FakeBridge::start(
        &endpoint,
        Box::new(|_: &Value| {
            Response::Value(json!({"app_event_id": "r1", "recommended_scale_out": 6}))
        }),
    );
    core.on_job_end(0, 2_500);
    let messages = restarted.wait_for(1, WAIT);
    assert_eq!(messages[0]["event_type"], "JOB_END");
    assert_eq!(messages[0]["payload"]["app_event_id"], "r1");
    assert_eq!(actions(&core), vec![Action::RequestTotal(6)]);
    core.close();
}

#[test]
fn silent_bridge_falls_back_and_the_next_message_still_works() {
    let script = |message: &Value| match message["event_type"].as_str() {
        // Answered long after the client gave up: must not be applied.
        Some("JOB_START") => Response::Late(
            Duration::from_millis(500),
            json!({"app_event_id": "s", "recommended_scale_out": 8}),
        ),
        Some("JOB_END") => {
            Response::Value(json!({"app_event_id": "s", "recommended_scale_out": 3}))
        }
        _ => Response::Value(json!({"app_event_id": "s", "recommended_scale_out": 2})),
    };
    let bridge = FakeBridge::start("tcp://127.0.0.1:*", Box::new(script));
    let core = core_for(&bridge.endpoint, &[("responseTimeoutMs", "300")]);
    start_app(&core, 2);
    core.on_job_start(0, 2_000, &[]);
    wait_until("the JOB_START timeout", || core.stats().reply_timeouts == 1);
    // Let the stand-in finish its late answer so it can serve the next request.
    std::thread::sleep(Duration::from_millis(400));
    core.on_job_end(0, 2_100);
    let messages = bridge.wait_for(3, WAIT);
    assert_eq!(messages[2]["event_type"], "JOB_END");
    assert_eq!(actions(&core), vec![Action::RequestTotal(3)]);
    let stats = core.stats();
    assert_eq!(stats.reply_timeouts, 1);
    assert_eq!(stats.replies, 2);
    core.close();
}

#[test]
fn garbage_replies_are_counted_and_change_nothing() {
    let script = |message: &Value| match message["event_type"].as_str() {
        Some("APPLICATION_START") => {
            Response::Value(json!({"app_event_id": "g", "recommended_scale_out": 2}))
        }
        Some("JOB_START") => Response::Raw(b"not json at all".to_vec()),
        _ => Response::Value(json!({"app_event_id": "g", "recommended_scale_out": "lots"})),
    };
    let bridge = FakeBridge::start("tcp://127.0.0.1:*", Box::new(script));
    let core = core_for(&bridge.endpoint, &[]);
    start_app(&core, 2);
    core.on_job_start(0, 2_000, &[]);
    core.on_job_end(0, 2_100);
    bridge.wait_for(3, WAIT);
    wait_until("both garbage replies", || core.stats().garbage_replies == 2);
    assert!(core.next_actions(Duration::from_millis(300)).is_empty());
    assert_eq!(core.stats().recommendations, 1, "only the registration's");
    // The socket is still usable.
    core.on_application_end(3_000);
    bridge.wait_for(4, WAIT);
    core.close();
}

#[test]
fn reply_with_a_wrong_app_event_id_is_ignored() {
    let script = |message: &Value| match message["event_type"].as_str() {
        Some("APPLICATION_START") => {
            Response::Value(json!({"app_event_id": "mine", "recommended_scale_out": 2}))
        }
        _ => Response::Value(json!({"app_event_id": "someone-else", "recommended_scale_out": 7})),
    };
    let bridge = FakeBridge::start("tcp://127.0.0.1:*", Box::new(script));
    let core = core_for(&bridge.endpoint, &[]);
    start_app(&core, 2);
    core.on_job_start(0, 2_000, &[]);
    bridge.wait_for(2, WAIT);
    wait_until("the mismatch", || core.stats().mismatched_replies == 1);
    assert!(core.next_actions(Duration::from_millis(300)).is_empty());
    core.close();
}

#[test]
fn out_of_range_recommendations_are_clamped() {
    let script = |message: &Value| {
        let n = if message["event_type"] == "JOB_START" {
            1_000_000
        } else {
            -5
        };
        Response::Value(json!({"app_event_id": "c", "recommended_scale_out": n}))
    };
    let bridge = FakeBridge::start("tcp://127.0.0.1:*", Box::new(script));
    let core = core_for(
        &bridge.endpoint,
        &[("minExecutors", "2"), ("maxExecutors", "6")],
    );
    start_app(&core, 3);
    assert_eq!(
        actions(&core),
        vec![Action::Kill(vec!["3".into()]), Action::RequestTotal(2)]
    );
    core.on_job_start(0, 2_000, &[]);
    assert_eq!(actions(&core), vec![Action::RequestTotal(6)]);
    core.close();
}

#[test]
fn unreachable_bridge_at_start_registers_when_it_appears() {
    let endpoint = unused_endpoint();
    let core = core_for(&endpoint, &[("responseTimeoutMs", "300")]);
    start_app(&core, 2);
    run_job(&core, 0, 0, 2_000);
    std::thread::sleep(Duration::from_millis(700));
    assert!(core.stats().reply_timeouts >= 1);
    assert!(
        core.next_actions(Duration::from_millis(10)).is_empty(),
        "unscaled while the bridge is away"
    );

    let bridge = FakeBridge::start(&endpoint, echo_script("late", 4));
    wait_until("the JOB_END", || {
        bridge.event_types().last().map(String::as_str) == Some("JOB_END")
    });
    // A registration whose reply raced the client's timeout may arrive twice (lazy pirate).
    let mut types = bridge.event_types();
    types.dedup();
    assert_eq!(types, ["APPLICATION_START", "JOB_START", "JOB_END"]);
    assert_eq!(
        bridge.messages().last().unwrap()["payload"]["app_event_id"],
        "late"
    );
    assert_eq!(actions(&core), vec![Action::RequestTotal(4)]);
    assert_eq!(core.stats().app_event_id.as_deref(), Some("late"));
    core.close();
}

#[test]
fn full_queue_drops_job_events_but_never_the_application_frame() {
    let endpoint = unused_endpoint();
    let core = core_for(
        &endpoint,
        &[("responseTimeoutMs", "200"), ("queueCapacity", "5")],
    );
    start_app(&core, 1);
    for job in 0..20 {
        core.on_job_start(job, 2_000 + i64::from(job), &[]);
        core.on_job_end(job, 2_000 + i64::from(job));
    }
    core.on_application_end(5_000);
    assert!(core.stats().events_dropped >= 30, "{:?}", core.stats());

    let bridge = FakeBridge::start(&endpoint, echo_script("q", 1));
    wait_until("the application end", || {
        bridge.event_types().last().map(String::as_str) == Some("APPLICATION_END")
    });
    let mut types = bridge.event_types();
    types.dedup_by(|a, b| a == "APPLICATION_START" && a == b);
    assert_eq!(types.first().map(String::as_str), Some("APPLICATION_START"));
    // The queue holds 5, APPLICATION_START included until the client thread takes it: the
    // newest 3 or 4 job events survive.
    assert!((5..=6).contains(&types.len()), "{types:?}");
    let messages = bridge.messages();
    let last_job_event = &messages[messages.len() - 2];
    assert_eq!(last_job_event["event_type"], "JOB_END");
    assert_eq!(last_job_event["payload"]["job_id"], 19);
    core.close();
}

#[test]
fn messagepack_codec_end_to_end() {
    let bridge = FakeBridge::start("tcp://127.0.0.1:*", echo_script("m", 2));
    let core = core_for(&bridge.endpoint, &[("codec", "msgpack")]);
    start_app(&core, 2);
    run_job(&core, 0, 3, 2_000);
    let messages = bridge.wait_for(3, WAIT);
    assert_eq!(
        messages[2]["payload"]["stages"]["3"]["metrics"]["cpu_utilization"],
        0.5
    );
    assert_eq!(messages[2]["payload"]["app_event_id"], "m");
    assert_eq!(core.stats().replies, 3);
    core.close();
}

#[test]
fn shutdown_does_not_wait_for_a_bridge_known_to_be_silent() {
    let bridge = FakeBridge::start("tcp://127.0.0.1:*", echo_script("q", 2));
    let core = core_for(
        &bridge.endpoint,
        &[
            ("responseTimeoutMs", "6000"),
            ("shutdownTimeoutMs", "30000"),
        ],
    );
    start_app(&core, 1);
    bridge.wait_for(1, WAIT);
    wait_until("registration", || core.stats().replies == 1);
    drop(bridge);
    core.on_job_start(0, 2_000, &[]);
    wait_until("the JOB_START timeout", || core.stats().reply_timeouts == 1);
    core.on_application_end(3_000);
    let started = Instant::now();
    core.close();
    // A liveness bound, not a speed target: neither the 6 s reply timeout nor the 30 s grace
    // may hold up the end of the application once the bridge is known to be silent.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "close took {:?}",
        started.elapsed()
    );
}

#[test]
fn shutdown_still_delivers_application_end_to_an_answering_bridge() {
    let bridge = FakeBridge::start("tcp://127.0.0.1:*", echo_script("e", 2));
    let core = core_for(&bridge.endpoint, &[("shutdownTimeoutMs", "5000")]);
    start_app(&core, 1);
    core.on_application_end(2_000);
    core.close();
    let messages = bridge.wait_for(2, WAIT);
    assert_eq!(messages[1]["event_type"], "APPLICATION_END");
}

#[test]
fn close_returns_promptly_with_a_dead_bridge() {
    let core = core_for(
        &unused_endpoint(),
        &[("responseTimeoutMs", "30000"), ("shutdownTimeoutMs", "200")],
    );
    start_app(&core, 1);
    core.on_application_end(2_000);
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    core.close();
    core.close();
    // A liveness bound, not a speed target: the 30 s reply timeout must not hold shutdown.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "close took {:?}",
        started.elapsed()
    );
    assert!(core.next_actions(Duration::from_secs(30)).is_empty());
}
