//! Bell (Thamsen et al., IPCCC 2016): chooses between Ernest and kernel regressions of many
//! bandwidths by leave-one-scale-out cross-validation on the interior scale-outs.

use super::ernest::Ernest;
use super::kernel::KernelRegression;

/// Candidate bandwidths, in executors: 1, 2, ..., 100.
const BANDWIDTHS: std::ops::RangeInclusive<u32> = 1..=100;

#[derive(Debug, Clone, PartialEq)]
pub enum Bell {
    Ernest(Ernest),
    Kernel(KernelRegression),
}

#[derive(Clone, Copy)]
enum Candidate {
    Ernest,
    Kernel(f64),
}

impl Candidate {
    fn fit(self, xs: &[f64], ys: &[f64]) -> Bell {
        match self {
            Candidate::Ernest => Bell::Ernest(Ernest::fit(xs, ys)),
            Candidate::Kernel(h) => Bell::Kernel(KernelRegression::fit(h, xs, ys)),
        }
    }
}

impl Bell {
    pub fn fit(xs: &[f64], ys: &[f64]) -> Bell {
        let mut candidates: Vec<Candidate> = BANDWIDTHS
            .map(|h| Candidate::Kernel(f64::from(h)))
            .collect();
        candidates.push(Candidate::Ernest);

        let mut distinct: Vec<f64> = xs.to_vec();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        // Hold out each interior scale-out in turn (the extremes are never extrapolated to).
        let held_out: &[f64] = if distinct.len() > 2 {
            &distinct[1..distinct.len() - 1]
        } else {
            &[]
        };

        let mut best = (f64::INFINITY, Candidate::Ernest);
        for &candidate in &candidates {
            let mut total = 0.0;
            for &s in held_out {
                let (train, test): (Vec<usize>, Vec<usize>) =
                    (0..xs.len()).partition(|&i| xs[i] != s);
                let train_x: Vec<f64> = train.iter().map(|&i| xs[i]).collect();
                let train_y: Vec<f64> = train.iter().map(|&i| ys[i]).collect();
                let model = candidate.fit(&train_x, &train_y);
                let error: f64 = test
                    .iter()
                    .map(|&i| ((model.predict(xs[i]) - ys[i]) / ys[i]).abs())
                    .sum::<f64>()
                    / test.len() as f64;
                total += error;
            }
            let score = if held_out.is_empty() {
                0.0
            } else {
                total / held_out.len() as f64
            };
            // Strictly lower only: ties keep the earlier (narrower) candidate, as argmin does.
            if score < best.0 {
                best = (score, candidate);
            }
        }
        best.1.fit(xs, ys)
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
