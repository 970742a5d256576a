//! Local linear regression with a Gaussian kernel (the non-parametric side of Bell).

use std::sync::OnceLock;

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

/// Whole bandwidths and distances up to these have their weights in [`weights`]: scale-outs
/// are whole executors, and Bell scores the bandwidths 1..=100 at every held-out scale-out of
/// every job, each weight an `exp` otherwise.
const TABLE_BANDWIDTHS: usize = 100;
const TABLE_DISTANCES: usize = 128;

/// The Gaussian weight of a point at distance `d` from `s`.
fn weight(bandwidth: f64, d: f64) -> f64 {
    (-d * d / (2.0 * bandwidth * bandwidth)).exp()
}

/// [`weight`] for every whole bandwidth 1..=TABLE_BANDWIDTHS (row `h - 1`) and whole distance
/// 0..TABLE_DISTANCES, computed by the same expression (so bit for bit the same values).
fn weights() -> &'static [f64] {
    static WEIGHTS: OnceLock<Vec<f64>> = OnceLock::new();
    WEIGHTS.get_or_init(|| {
        (1..=TABLE_BANDWIDTHS)
            .flat_map(|h| (0..TABLE_DISTANCES).map(move |d| weight(h as f64, d as f64)))
            .collect()
    })
}

/// The weights of whole distances at `bandwidth`, if it is a tabled one.
fn weight_row(bandwidth: f64) -> Option<&'static [f64]> {
    let whole = bandwidth.fract() == 0.0 && (1.0..=TABLE_BANDWIDTHS as f64).contains(&bandwidth);
    whole.then(|| {
        let row = (bandwidth as usize - 1) * TABLE_DISTANCES;
        &weights()[row..row + TABLE_DISTANCES]
    })
}

/// The table column of a point at distance `d`, if it is a whole distance in the table.
fn table_column(d: f64) -> Option<usize> {
    let distance = d.abs();
    (distance.fract() == 0.0 && distance < TABLE_DISTANCES as f64).then_some(distance as usize)
}

/// The table column of each point's distance from `s`, when every one has one: Bell scores a
/// hundred bandwidths at each held-out `s` with the same distances.
pub fn whole_distances(xs: &[f64], s: f64) -> Option<Vec<usize>> {
    xs.iter().map(|&x| table_column(s - x)).collect()
}

/// The kernel regression of the points `(xs, ys)` with `bandwidth`, at `s`.
pub fn predict(bandwidth: f64, xs: &[f64], ys: &[f64], s: f64) -> f64 {
    let row = weight_row(bandwidth);
    regress(xs, ys, s, |_, x| match (row, table_column(s - x)) {
        (Some(row), Some(column)) => row[column],
        _ => weight(bandwidth, s - x),
    })
}

/// [`predict`], given [`whole_distances`]`(xs, s)` (without copying the points into a model:
/// Bell scores a hundred bandwidths per held-out scale-out).
pub fn predict_at(bandwidth: f64, xs: &[f64], ys: &[f64], s: f64, whole: Option<&[usize]>) -> f64 {
    match (weight_row(bandwidth), whole) {
        (Some(row), Some(whole)) => regress(xs, ys, s, |i, _| row[whole[i]]),
        _ => predict(bandwidth, xs, ys, s),
    }
}

/// Weighted least squares of y on [1, x] around `s`, point `i` at `x` weighing `weight(i, x)`.
fn regress(xs: &[f64], ys: &[f64], s: f64, weight: impl Fn(usize, f64) -> f64) -> f64 {
    let (mut s0, mut s1, mut s2, mut t0, mut t1) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, (&x, &y)) in xs.iter().zip(ys).enumerate() {
        let w = weight(i, x);
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
    fn tabled_weights_are_the_computed_ones_bit_for_bit() {
        for h in 1..=TABLE_BANDWIDTHS {
            let row = weight_row(h as f64).expect("a whole bandwidth is tabled");
            for (d, tabled) in row.iter().enumerate() {
                for signed in [d as f64, -(d as f64)] {
                    assert_eq!(
                        tabled.to_bits(),
                        weight(h as f64, signed).to_bits(),
                        "h {h}, d {signed}"
                    );
                }
            }
        }
        assert!(weight_row(0.5).is_none() && weight_row(101.0).is_none());
    }

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
