//! Scale-outs for profiling runs. By default spread over the range so that the first few runs
//! already cover it (min, max, midpoint, quarter points, ...); or, as the original chose them,
//! uniformly at random in the range.

use super::{Decision, RunSpec};
use crate::history::{RunRecord, ScaleOutRange};
use crate::rng::Rng;

/// How profiling runs choose their scale-out (`--profiling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profiling {
    /// The bisection sequence of the range.
    #[default]
    Bisection,
    /// Uniformly at random in `[min, max]` (the original's rule). The k-th profiling run of an
    /// application draws from `seed`, the application's name and k, so a seed reproduces the
    /// choices, also after a restart.
    Random { seed: u64 },
}

impl Profiling {
    /// A profiling run's scale-out, after the application's earlier profiling runs.
    pub fn decision(self, run: &RunSpec, history: &[RunRecord]) -> Decision {
        let k = history.iter().filter(|r| !r.is_adaptive).count();
        match self {
            Profiling::Bisection => {
                let s = exploration_scale_out(run.range, k);
                Decision::new(
                    s,
                    format!("profiling run {}: exploring scale-out {s}", k + 1),
                )
            }
            Profiling::Random { seed } => {
                let s = random_scale_out(run.range, seed, &run.app_name, k);
                Decision::new(
                    s,
                    format!(
                        "profiling run {}: scale-out {s} drawn at random in [{}, {}]",
                        k + 1,
                        run.range.min,
                        run.range.max
                    ),
                )
            }
        }
    }
}

/// The scale-out of the `k`-th profiling run (0-based) by bisection.
pub fn exploration_scale_out(range: ScaleOutRange, k: usize) -> u32 {
    let sequence = bisection_sequence(range);
    sequence[k % sequence.len()]
}

fn random_scale_out(range: ScaleOutRange, seed: u64, app_name: &str, k: usize) -> u32 {
    // FNV-1a of the name: a stable hash, unlike std's.
    let name = app_name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut rng = Rng::new(seed ^ name);
    // Each earlier profiling run consumed one draw.
    for _ in 0..k {
        rng.next_u64();
    }
    let offset = (rng.unit() * range.len() as f64) as u32;
    range.min + offset.min(range.max - range.min)
}

fn bisection_sequence(range: ScaleOutRange) -> Vec<u32> {
    let span = f64::from(range.max - range.min);
    let mut values: Vec<u32> = Vec::with_capacity(range.len());
    let add = |values: &mut Vec<u32>, fraction: f64| {
        let value = range.min + (fraction * span).round() as u32;
        if !values.contains(&value) {
            values.push(value);
        }
    };
    add(&mut values, 0.0);
    add(&mut values, 1.0);
    let mut denominator = 2u32;
    while values.len() < range.len() && denominator <= 1 << 20 {
        for numerator in (1..denominator).step_by(2) {
            add(&mut values, f64::from(numerator) / f64::from(denominator));
        }
        denominator *= 2;
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_the_range_coarse_to_fine() {
        let range = ScaleOutRange::new(4, 36);
        let first: Vec<u32> = (0..5).map(|k| exploration_scale_out(range, k)).collect();
        assert_eq!(first, vec![4, 36, 20, 12, 28]);
        let all: std::collections::BTreeSet<u32> =
            (0..33).map(|k| exploration_scale_out(range, k)).collect();
        assert_eq!(all.len(), 33, "every scale-out eventually");
        assert_eq!(exploration_scale_out(ScaleOutRange::new(3, 3), 7), 3);
    }

    #[test]
    fn random_choices_are_uniform_in_the_range_and_reproducible() {
        let range = ScaleOutRange::new(4, 8);
        let draws: Vec<u32> = (0..5_000)
            .map(|k| random_scale_out(range, 7, "app", k))
            .collect();
        let mut counts = [0usize; 5];
        for &s in &draws {
            assert!(range.values().any(|v| v == s), "{s} outside the range");
            counts[(s - 4) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (800..1_200).contains(&c)),
            "{counts:?}"
        );
        assert_eq!(random_scale_out(range, 7, "app", 42), draws[42]);
        let other_seed: Vec<u32> = (0..20)
            .map(|k| random_scale_out(range, 8, "app", k))
            .collect();
        assert_ne!(other_seed, draws[..20]);
        assert_eq!(random_scale_out(ScaleOutRange::new(3, 3), 1, "a", 9), 3);
    }

    #[test]
    fn the_kth_profiling_run_draws_the_kth_value() {
        let run = RunSpec {
            app_name: "app".into(),
            is_adaptive: false,
            target_ms: 0,
            range: ScaleOutRange::new(1, 64),
            start_ms: 0,
        };
        let profiling = Profiling::Random { seed: 3 };
        let earlier = |n: usize| -> Vec<RunRecord> {
            (0..n)
                .map(|i| RunRecord {
                    app_event_id: i.to_string(),
                    is_adaptive: false,
                    start_ms: 0,
                    runtime_ms: 0,
                    target_ms: 0,
                    jobs: Vec::new(),
                })
                .collect()
        };
        let second = profiling.decision(&run, &earlier(1));
        assert_eq!(second.scale_out, random_scale_out(run.range, 3, "app", 1));
        assert!(second.reason.contains("at random in [1, 64]"), "{second:?}");
        assert_eq!(Profiling::default().decision(&run, &[]).scale_out, 1);
    }
}
