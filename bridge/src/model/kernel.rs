//! Local linear regression with a Gaussian kernel (the non-parametric side of Bell).

use super::linalg::solve;

/// Ridge term that keeps the 2×2 systems solvable, as in the original.
const TOLERANCE: f64 = 1e-12;

#[derive(Debug, Clone, PartialEq)]
pub struct KernelRegression {
    pub bandwidth: f64,
    xs: Vec<f64>,
    ys: Vec<f64>,
}

impl KernelRegression {
    pub fn fit(bandwidth: f64, xs: &[f64], ys: &[f64]) -> KernelRegression {
        KernelRegression {
            bandwidth,
            xs: xs.to_vec(),
            ys: ys.to_vec(),
        }
    }

    pub fn predict(&self, s: f64) -> f64 {
        predict(self.bandwidth, &self.xs, &self.ys, s)
    }
}

/// The kernel regression of the points `(xs, ys)` with `bandwidth`, at `s` (without copying
/// the points into a model: Bell scores a hundred bandwidths per held-out scale-out).
pub fn predict(bandwidth: f64, xs: &[f64], ys: &[f64], s: f64) -> f64 {
    // Weighted least squares of y on [1, x] around s.
    let (mut s0, mut s1, mut s2, mut t0, mut t1) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (&x, &y) in xs.iter().zip(ys) {
        let d = s - x;
        let w = (-d * d / (2.0 * bandwidth * bandwidth)).exp();
        s0 += w;
        s1 += w * x;
        s2 += w * x * x;
        t0 += w * y;
        t1 += w * x * y;
    }
    let system = [[s0 + TOLERANCE, s1], [s1, s2 + TOLERANCE]];
    match solve(system, [t0, t1], 2) {
        Some(c) => c[0] + c[1] * s,
        // All weights vanished (far from every point): fall back to the plain mean.
        None => ys.iter().sum::<f64>() / ys.len().max(1) as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduces_a_line_and_smooths_locally() {
        let xs = [1.0, 2.0, 3.0, 4.0, 5.0];
        let ys = [10.0, 20.0, 30.0, 40.0, 50.0];
        let k = KernelRegression::fit(1.0, &xs, &ys);
        assert!((k.predict(2.5) - 25.0).abs() < 1e-6);
        let bumpy = [10.0, 30.0, 10.0, 30.0, 10.0];
        let narrow = KernelRegression::fit(0.2, &xs, &bumpy);
        let wide = KernelRegression::fit(50.0, &xs, &bumpy);
        assert!((narrow.predict(2.0) - 30.0).abs() < 1e-3);
        assert!(
            (wide.predict(2.0) - 18.0).abs() < 2.0,
            "{}",
            wide.predict(2.0)
        );
    }
}
