//! Bell (Thamsen et al., IPCCC 2016): chooses between Ernest and kernel regressions of many
//! bandwidths by leave-one-scale-out cross-validation on the interior scale-outs.

use super::ernest::Ernest;
use super::kernel::{self, KernelRegression};

/// Candidate bandwidths, in executors: 1, 2, ..., 100.
const BANDWIDTHS: std::ops::RangeInclusive<u32> = 1..=100;

#[derive(Debug, Clone, PartialEq)]
pub enum Bell {
    Ernest(Ernest),
    Kernel(KernelRegression),
}

impl Bell {
    pub fn fit(xs: &[f64], ys: &[f64]) -> Bell {
        let mut distinct: Vec<f64> = xs.to_vec();
        distinct.sort_unstable_by(f64::total_cmp);
        distinct.dedup();
        // Hold out each interior scale-out in turn (the extremes are never extrapolated to).
        let held_out: &[f64] = if distinct.len() > 2 {
            &distinct[1..distinct.len() - 1]
        } else {
            &[]
        };

        // Mean relative error per candidate: the kernels by increasing bandwidth, then Ernest.
        let kernels = BANDWIDTHS.count();
        let mut totals = vec![0.0; kernels + 1];
        let (mut train_x, mut train_y, mut test_y) = (Vec::new(), Vec::new(), Vec::new());
        for &s in held_out {
            train_x.clear();
            train_y.clear();
            test_y.clear();
            for (&x, &y) in xs.iter().zip(ys) {
                if x != s {
                    train_x.push(x);
                    train_y.push(y);
                } else {
                    test_y.push(y);
                }
            }
            // Every held-out point lies at `s`: one prediction per candidate serves them all.
            let error = |predicted: f64| -> f64 {
                test_y
                    .iter()
                    .map(|&y| ((predicted - y) / y).abs())
                    .sum::<f64>()
                    / test_y.len() as f64
            };
            let whole = kernel::whole_distances(&train_x, s);
            for (total, h) in totals.iter_mut().zip(BANDWIDTHS) {
                let predicted =
                    kernel::predict_at(f64::from(h), &train_x, &train_y, s, whole.as_deref());
                *total += error(predicted);
            }
            totals[kernels] += error(Ernest::fit(&train_x, &train_y).predict(s));
        }

        let score = |total: f64| {
            if held_out.is_empty() {
                0.0
            } else {
                total / held_out.len() as f64
            }
        };
        // Strictly lower only: ties keep the earlier (narrower) candidate, as argmin does.
        let mut best = (f64::INFINITY, kernels);
        for (candidate, &total) in totals.iter().enumerate() {
            if score(total) < best.0 {
                best = (score(total), candidate);
            }
        }
        match BANDWIDTHS.clone().nth(best.1) {
            Some(h) => Bell::Kernel(KernelRegression::fit(f64::from(h), xs, ys)),
            None => Bell::Ernest(Ernest::fit(xs, ys)),
        }
    }

    pub fn predict(&self, s: f64) -> f64 {
        match self {
            Bell::Ernest(m) => m.predict(s),
            Bell::Kernel(m) => m.predict(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_ernest_for_ernest_shaped_data() {
        let xs: Vec<f64> = [4.0, 8.0, 12.0, 16.0, 20.0, 24.0, 28.0, 36.0].to_vec();
        let ys: Vec<f64> = xs
            .iter()
            .map(|s| 5_000.0 + 200_000.0 / s + 10.0 * s)
            .collect();
        assert!(matches!(Bell::fit(&xs, &ys), Bell::Ernest(_)));
    }

    #[test]
    fn picks_a_kernel_for_data_ernest_cannot_shape() {
        // A step: fast until 16 executors, then much slower (say, a shuffle that spills).
        let xs: Vec<f64> = [
            4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 18.0, 20.0, 22.0, 24.0, 26.0,
        ]
        .to_vec();
        let ys: Vec<f64> = xs
            .iter()
            .map(|&s| if s < 16.0 { 1_000.0 } else { 5_000.0 })
            .collect();
        match Bell::fit(&xs, &ys) {
            Bell::Kernel(k) => assert!(k.bandwidth <= 3.0, "bandwidth {}", k.bandwidth),
            other => panic!("expected a kernel model, got {other:?}"),
        }
    }
}
