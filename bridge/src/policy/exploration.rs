//! Scale-outs for profiling runs: spread over the range so that the first few runs already
//! cover it (min, max, midpoint, quarter points, ...).

use super::Decision;
use crate::history::{RunRecord, ScaleOutRange};

/// A profiling run's scale-out: the next point of the sequence after the application's
/// earlier profiling runs.
pub fn profiling_decision(range: ScaleOutRange, history: &[RunRecord]) -> Decision {
    let k = history.iter().filter(|r| !r.is_adaptive).count();
    let s = exploration_scale_out(range, k);
    Decision::new(
        s,
        format!("profiling run {}: exploring scale-out {s}", k + 1),
    )
}

/// The scale-out of the `k`-th profiling run (0-based).
pub fn exploration_scale_out(range: ScaleOutRange, k: usize) -> u32 {
    let sequence = bisection_sequence(range);
    sequence[k % sequence.len()]
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
}
