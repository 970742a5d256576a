//! The driver's side of the external pool through the Core API: a real ZeroMQ stand-in for
//! the dispatcher (and one for the bridge) records what the core asks for.

mod common;

use std::time::{Duration, Instant};

use common::{core_for, unused_endpoint, FakeBridge, Response};
use pacer::Action;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);
const APP: &str = "app-20261202000000-0001";

/// A dispatcher that places every requested executor (ids from 1000000 up) and confirms every
/// release.
fn fake_dispatcher() -> FakeBridge {
    let next = std::sync::atomic::AtomicU64::new(1_000_000);
    FakeBridge::start(
        "tcp://127.0.0.1:*",
        Box::new(move |request: &Value| {
            if let Some(acquire) = request.get("acquire") {
                let count = acquire["count"].as_u64().unwrap();
                let executors: Vec<Value> = (0..count)
                    .map(|_| {
                        let id = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        json!({"executor_id": id.to_string(), "worker_id": "w", "host": "127.0.0.2"})
                    })
                    .collect();
                return Response::Value(json!({"placed": {"executors": executors, "unplaced": 0}}));
            }
            let ids = request
                .get("release")
                .map_or(json!([]), |r| r["executor_ids"].clone());
            Response::Value(json!({"released": {"executor_ids": ids}}))
        }),
    )
}

fn requests_of(dispatcher: &FakeBridge, kind: &str) -> Vec<Value> {
    dispatcher
        .messages()
        .into_iter()
        .filter_map(|m| m.get(kind).cloned())
        .collect()
}

fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn acquired(dispatcher: &FakeBridge) -> Vec<String> {
    requests_of(dispatcher, "acquire")
        .iter()
        .map(|a| a["count"].as_u64().unwrap())
        .scan(1_000_000u64, |next, count| {
            let ids: Vec<String> = (*next..*next + count).map(|i| i.to_string()).collect();
            *next += count;
            Some(ids)
        })
        .flatten()
        .collect()
}

#[test]
fn external_executors_are_acquired_released_after_the_kill_and_ended_with_the_app() {
    let dispatcher = fake_dispatcher();
    // The bridge asks for 3, then for 1 after job 0.
    let bridge = FakeBridge::start(
        "tcp://127.0.0.1:*",
        Box::new(|m: &Value| {
            let n = match (m["event_type"].as_str(), m["payload"]["job_id"].as_i64()) {
                (Some("APPLICATION_START"), _) => 3,
                (Some("JOB_END"), Some(0)) => 1,
                _ => m["payload"]["num_executors"].as_i64().unwrap_or(0),
            };
            Response::Value(json!({"app_event_id": "a1", "recommended_scale_out": n}))
        }),
    );
    let core = core_for(
        &bridge.endpoint,
        &[
            ("reschedule.dst.executor", "external"),
            ("dispatcher.address", dispatcher.endpoint.as_str()),
            ("spark.driver.host", "127.0.0.1"),
            ("spark.driver.port", "40123"),
            ("spark.executor.memory", "768m"),
            ("pacer.runtime.sparkVersion", "3.5.9"),
        ],
    );
    core.on_application_start(APP, "App", 1_000);
    // No executor from the cluster manager: the first target goes to the pool, and all of
    // the bridge's 3 once it answered (the actions for Spark are only totals of 0). The
    // dispatcher records a request before the core has read its reply, so both are awaited.
    wait_until("3 executors placed", || {
        for action in core.next_actions(Duration::from_millis(20)) {
            assert!(matches!(action, Action::RequestTotal(0)), "{action:?}");
        }
        acquired(&dispatcher).len() == 3 && core.stats().external_starting == 3
    });
    let first = &requests_of(&dispatcher, "acquire")[0];
    assert_eq!(first["app_id"], APP);
    assert_eq!(
        first["driver_url"],
        "spark://CoarseGrainedScheduler@127.0.0.1:40123"
    );
    assert_eq!(
        (first["spark_version"].as_str(), first["memory_mb"].as_u64()),
        (Some("3.5"), Some(768))
    );
    let ids = acquired(&dispatcher);
    for id in &ids {
        core.on_executor_added(id, "127.0.0.2", 2_000, true);
    }
    let stats = core.stats();
    assert_eq!(
        (
            stats.external_executors,
            stats.external_starting,
            stats.external_target
        ),
        (3, 0, 3)
    );

    // Down to 1: two external executors are killed in Spark first, and stopped only after.
    core.on_job_start(0, 3_000, &[]);
    core.on_job_end(0, 4_000);
    let mut killed = Vec::new();
    wait_until("the kills", || {
        for action in core.next_actions(Duration::from_millis(20)) {
            if let Action::Kill(ids) = action {
                assert!(
                    requests_of(&dispatcher, "release").is_empty(),
                    "released before the kill"
                );
                killed.extend(ids);
            }
        }
        killed.len() == 2
    });
    // Asking for actions again says the kills were applied.
    core.next_actions(Duration::from_millis(1));
    wait_until("the release", || {
        !requests_of(&dispatcher, "release").is_empty()
    });
    let mut released: Vec<String> = requests_of(&dispatcher, "release")[0]["executor_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    released.sort();
    killed.sort();
    assert_eq!(released, killed);
    assert_eq!(
        acquired(&dispatcher).len(),
        3,
        "nothing acquired to replace them"
    );

    core.on_application_end(9_000);
    wait_until("the end", || {
        !requests_of(&dispatcher, "app_ended").is_empty()
    });
    assert_eq!(requests_of(&dispatcher, "app_ended")[0]["app_id"], APP);
    core.close();
}

#[test]
fn a_missing_dispatcher_stalls_nothing() {
    let bridge = FakeBridge::start("tcp://127.0.0.1:*", common::echo_script("a1", 2));
    let core = core_for(
        &bridge.endpoint,
        &[
            ("reschedule.dst.executor", "external"),
            ("dispatcher.address", unused_endpoint().as_str()),
            ("spark.driver.host", "127.0.0.1"),
            ("spark.driver.port", "40123"),
            ("logLevel", "warn"),
        ],
    );
    core.on_application_start(APP, "App", 1_000);
    // The bridge still gets every event while the pool thread waits for its dispatcher.
    for job in 0..10 {
        core.on_job_start(job, 2_000, &[]);
        core.on_job_end(job, 2_001);
    }
    bridge.wait_for(21, WAIT);
    core.on_application_end(3_000);
    let closing = Instant::now();
    core.close();
    // The shutdown grace (500 ms), not the dispatcher's 10 s reply timeout, bounds the close.
    assert!(
        closing.elapsed() < Duration::from_secs(3),
        "{:?}",
        closing.elapsed()
    );
    assert_eq!(core.stats().external_executors, 0);
}
