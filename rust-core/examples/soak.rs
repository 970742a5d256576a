//! Soak: 100,000 jobs and 1,000,000 tasks through the Core API, with a real ZeroMQ bridge that
//! answers every message; prints the process's resident memory as it goes.
//!
//! Run: `cargo run --release -p pacer-core --example soak [-- --paced]`
//!
//! By default events come as fast as the caller can make them, far faster than a bridge round
//! trip, so the bounded queue fills and drops (the worst case for memory). With `--paced` the
//! caller waits after each job until the queue is empty, so every message reaches the bridge.

use std::time::Instant;

use pacer::{Config, Core, RddTotals, StageCompletion, StageInfo, TaskMetricTotals};

const JOBS: i32 = 100_000;
const TASKS_PER_JOB: i32 = 10;
const EXECUTORS: i32 = 8;

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let paced = std::env::args().any(|a| a == "--paced");
    let context = zmq::Context::new();
    let bridge = context.socket(zmq::REP).unwrap();
    bridge.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = bridge.get_last_endpoint().unwrap().unwrap();
    std::thread::spawn(move || loop {
        let Ok(request) = bridge.recv_bytes(0) else {
            return;
        };
        let message: serde_json::Value = serde_json::from_slice(&request).unwrap_or_default();
        let n = message["payload"]["num_executors"]
            .as_i64()
            .unwrap_or(EXECUTORS.into());
        let reply = serde_json::json!({"app_event_id": "soak", "recommended_scale_out": n});
        if bridge.send(serde_json::to_vec(&reply).unwrap(), 0).is_err() {
            return;
        }
    });

    let pairs = [
        (
            "spark.customExtraListener.bridgeServiceAddress",
            endpoint.as_str(),
        ),
        ("spark.customExtraListener.minExecutors", "1"),
        ("spark.customExtraListener.maxExecutors", "16"),
        ("spark.customExtraListener.targetRuntime", "3600000"),
    ];
    let core = Core::new(Config::from_pairs(pairs).unwrap()).unwrap();
    core.on_application_start("app-soak", "Soak", 0);
    let executors: Vec<String> = (0..EXECUTORS).map(|e| e.to_string()).collect();
    for e in &executors {
        core.on_executor_added(e, "127.0.0.1", 0, false);
    }
    let started = Instant::now();
    println!(
        "{:>8} {:>10} {:>12} {:>10} {:>8} {:>9}",
        "jobs", "tasks", "RSS KiB", "tracked", "queued", "dropped"
    );
    let mut tasks: u64 = 0;
    for job in 0..JOBS {
        let t = i64::from(job) * 100;
        let stages = [2 * job, 2 * job + 1];
        core.on_job_start(job, t, &stages);
        for &stage_id in &stages {
            let info = StageInfo {
                stage_id,
                attempt_id: 0,
                name: "map at Soak.scala:1",
                num_tasks: TASKS_PER_JOB / 2,
                parent_ids: &[],
            };
            core.on_stage_submitted(&info, t);
            for task in 0..TASKS_PER_JOB / 2 {
                let executor = &executors[(task % EXECUTORS) as usize];
                core.on_task_start(executor, t);
                core.on_task_end(executor);
                tasks += 1;
            }
            core.on_stage_completed(&StageCompletion {
                info,
                submission_time_ms: Some(t),
                completion_time_ms: t + 50,
                failure_reason: None,
                metrics: TaskMetricTotals {
                    executor_run_time_ms: 100,
                    ..TaskMetricTotals::default()
                },
                rdds: RddTotals::default(),
            });
        }
        core.on_job_end(job, t + 90);
        if paced {
            while core.stats().queued > 0 {
                std::thread::sleep(std::time::Duration::from_micros(20));
            }
        }
        if (job + 1) % 10_000 == 0 {
            let stats = core.stats();
            println!(
                "{:>8} {:>10} {:>12} {:>10} {:>8} {:>9}",
                job + 1,
                tasks,
                resident_kib(),
                stats.jobs_tracked + stats.stages_tracked,
                stats.queued,
                stats.events_dropped
            );
        }
    }
    core.on_application_end(i64::from(JOBS) * 100);
    core.close();
    println!("done in {:.1} s", started.elapsed().as_secs_f64());
}
