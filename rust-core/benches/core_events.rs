//! Cost on the caller's thread of the hot event methods, with a bridge that answers and with
//! one that never answers (the figures must not differ: no network I/O on the caller's thread).
//!
//! Run: `cargo bench -p pacer-core --bench core_events`

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use pacer::{Config, Core, RddTotals, StageCompletion, StageInfo, TaskMetricTotals};

/// A REP server on loopback that answers every request, or never reads at all.
struct Bridge {
    endpoint: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Bridge {
    fn start(answers: bool) -> Bridge {
        let context = zmq::Context::new();
        let socket = context.socket(zmq::REP).unwrap();
        socket.set_linger(0).unwrap();
        socket.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = socket.get_last_endpoint().unwrap().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                if !answers || socket.poll(zmq::POLLIN, 50).unwrap_or(0) == 0 {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                if socket.recv_bytes(0).is_ok() {
                    let _ = socket.send(
                        &br#"{"app_event_id":"bench","recommended_scale_out":4}"#[..],
                        0,
                    );
                }
            }
            drop(socket);
            drop(context);
        });
        Bridge {
            endpoint,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn core_for(bridge: &Bridge) -> Core {
    let pairs = [
        (
            "spark.customExtraListener.bridgeServiceAddress",
            bridge.endpoint.as_str(),
        ),
        ("spark.customExtraListener.minExecutors", "1"),
        ("spark.customExtraListener.maxExecutors", "8"),
        ("spark.customExtraListener.targetRuntime", "600000"),
        ("spark.customExtraListener.shutdownTimeoutMs", "100"),
    ];
    let core = Core::new(Config::from_pairs(pairs).unwrap()).unwrap();
    core.on_application_start("app-bench", "bench", 0);
    for id in 1..=8 {
        core.on_executor_added(&id.to_string(), "127.0.0.1", 0, false);
    }
    core.on_job_start(0, 1, &[]);
    core
}

fn completion(stage_id: i32) -> StageCompletion<'static> {
    StageCompletion {
        info: StageInfo {
            stage_id,
            attempt_id: 0,
            name: "treeAggregate at RowMatrix.scala:94",
            num_tasks: 200,
            parent_ids: &[],
        },
        submission_time_ms: Some(10),
        completion_time_ms: 20,
        failure_reason: None,
        metrics: TaskMetricTotals {
            executor_run_time_ms: 123_456,
            executor_cpu_time_ns: 98_765_432_100,
            jvm_gc_time_ms: 1_234,
            shuffle_read_bytes: 4_096_000,
            shuffle_write_bytes: 2_048_000,
            input_bytes: 134_217_728,
            output_bytes: 0,
            disk_bytes_spilled: 0,
            peak_execution_memory: 67_108_864,
        },
        rdds: RddTotals {
            num_partitions: 200,
            num_cached_partitions: 200,
            mem_size: 512_000_000,
            disk_size: 0,
        },
    }
}

fn bench_variant(c: &mut Criterion, name: &str, answers: bool) {
    let bridge = Bridge::start(answers);
    let core = core_for(&bridge);
    let executors: Vec<String> = (1..=8).map(|i| i.to_string()).collect();

    let mut group = c.benchmark_group(name);
    let mut i = 0usize;
    group.bench_function("task_start", |b| {
        b.iter(|| {
            i = (i + 1) % executors.len();
            core.on_task_start(black_box(&executors[i]), black_box(1_000));
        })
    });
    group.bench_function("task_end", |b| {
        b.iter(|| {
            i = (i + 1) % executors.len();
            core.on_task_end(black_box(&executors[i]));
        })
    });
    let mut next_stage = 1_000_000;
    group.bench_function("stage_completed", |b| {
        b.iter_batched(
            || {
                next_stage += 1;
                let info = completion(next_stage).info;
                core.on_stage_submitted(&info, 10);
                completion(next_stage)
            },
            |done| core.on_stage_completed(black_box(&done)),
            BatchSize::SmallInput,
        )
    });
    group.finish();
    let stats = core.stats();
    eprintln!(
        "{name}: replies {}, timeouts {}, stages tracked {}",
        stats.replies, stats.reply_timeouts, stats.stages_tracked
    );
    core.close();
}

fn events(c: &mut Criterion) {
    bench_variant(c, "answering_bridge", true);
    bench_variant(c, "silent_bridge", false);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = events
}
criterion_main!(benches);
