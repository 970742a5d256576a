//! CPU of one APPLICATION_START's plan: the policy fits its models on the application's
//! history (for `pacer`: Ernest curves on per-scale-out medians and their 5-fold
//! cross-validation), the one part of the bridge's work per message that grows with history.
//!
//! Run: `cargo bench -p pacer-bridge --bench policy_start`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use pacer_bridge::history::{JobRecord, RunRecord, ScaleOutRange};
use pacer_bridge::policy::{by_name, RunSpec};

const JOBS_PER_RUN: i64 = 10;

/// Where an application's history settles.
#[derive(Clone, Copy)]
enum Shape {
    /// Runs at several scale-outs, some rescaled mid-run: six distinct scale-outs per job, so
    /// Ellis's model choice fits Bell.
    Varied,
    /// Three profiling runs (36, 20, 12 executors), then every run at 4 (what
    /// `pacer-bridge bench`'s applications end up with).
    Settled,
}

/// `runs` earlier runs of one application: ten jobs each with a 1/s scale effect and runs of
/// differing speed.
fn history(shape: Shape, runs: usize) -> Vec<RunRecord> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..runs)
        .map(|r| {
            let speed = 0.7 + 0.6 * next();
            let (first, second) = match shape {
                Shape::Varied => {
                    let first = [4u32, 6, 8, 12][r % 4];
                    (first, if r % 3 == 0 { first * 2 } else { first })
                }
                Shape::Settled => {
                    let only = [36u32, 20, 12].get(r).copied().unwrap_or(4);
                    (only, only)
                }
            };
            let jobs: Vec<JobRecord> = (0..JOBS_PER_RUN)
                .map(|job_id| {
                    let scale_out = if job_id < JOBS_PER_RUN / 2 {
                        first
                    } else {
                        second
                    };
                    let ideal = 2_000.0 + 240_000.0 / f64::from(scale_out);
                    JobRecord {
                        job_id,
                        scale_out,
                        duration_ms: (speed * ideal * (0.9 + 0.2 * next())) as i64,
                    }
                })
                .collect();
            let job_time: i64 = jobs.iter().map(|j| j.duration_ms).sum();
            RunRecord {
                app_event_id: format!("run-{r}"),
                is_adaptive: r >= 3,
                start_ms: r as i64 * 3_600_000,
                runtime_ms: job_time + 15_000,
                target_ms: 600_000,
                jobs,
            }
        })
        .collect()
}

fn start_run(c: &mut Criterion) {
    let spec = RunSpec {
        app_name: "bench".into(),
        is_adaptive: true,
        target_ms: 400_000,
        range: ScaleOutRange::new(2, 24),
        start_ms: 0,
    };
    let mut group = c.benchmark_group("start_run");
    for policy_name in ["ellis", "pacer"] {
        let policy = by_name(policy_name).expect("a known policy");
        for (shape_name, shape) in [("varied", Shape::Varied), ("settled", Shape::Settled)] {
            for runs in [5, 10, 40] {
                let history = history(shape, runs);
                group.bench_function(format!("{policy_name}/{shape_name}/{runs}_runs"), |b| {
                    b.iter(|| black_box(policy.start_run(&spec, black_box(&history))))
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, start_run);
criterion_main!(benches);
