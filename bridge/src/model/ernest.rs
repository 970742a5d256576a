//! Ernest (Venkataraman et al., NSDI 2016): runtime(s) = θ0 + θ1/s + θ2·log s + θ3·s, θ ≥ 0,
//! fitted by non-negative least squares.

use std::sync::OnceLock;

use super::linalg::solve;

const FEATURES: usize = 4;

fn features(s: f64) -> [f64; FEATURES] {
    [1.0, 1.0 / s, ln(s), s]
}

/// Whole scale-outs below this have their logarithm in [`whole_logs`]: a plan fits and
/// predicts every job at every scale-out of its range several times, each an `ln` otherwise.
const TABLE_SCALE_OUTS: usize = 1024;

/// `ln(s)` for every whole `s` below [`TABLE_SCALE_OUTS`], computed by `f64::ln` itself (so
/// bit for bit the same values).
fn whole_logs() -> &'static [f64] {
    static LOGS: OnceLock<Vec<f64>> = OnceLock::new();
    LOGS.get_or_init(|| (0..TABLE_SCALE_OUTS).map(|s| (s as f64).ln()).collect())
}

fn ln(s: f64) -> f64 {
    if s.fract() == 0.0 && (0.0..TABLE_SCALE_OUTS as f64).contains(&s) {
        whole_logs()[s as usize]
    } else {
        s.ln()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ernest {
    pub theta: [f64; FEATURES],
}

impl Ernest {
    /// Exact NNLS: the optimum is the unconstrained least-squares fit on its own support, so
    /// with four features every support (16 of them) is tried and the best feasible one kept.
    pub fn fit(xs: &[f64], ys: &[f64]) -> Ernest {
        let rows: Vec<[f64; FEATURES]> = xs.iter().map(|&s| features(s)).collect();
        let system = NormalEquations::of(&rows, ys);
        let mut best = Ernest {
            theta: [0.0; FEATURES],
        };
        let mut best_residual = residual(&rows, ys, &best.theta);
        for support in 1u32..(1 << FEATURES) {
            let mut columns = [0usize; FEATURES];
            let mut n = 0;
            for c in (0..FEATURES).filter(|c| support & (1 << c) != 0) {
                columns[n] = c;
                n += 1;
            }
            let columns = &columns[..n];
            let Some(coefficients) = system.solve(columns) else {
                continue;
            };
            let coefficients = &coefficients[..n];
            if coefficients.iter().any(|&c| c < 0.0) {
                continue;
            }
            let mut theta = [0.0; FEATURES];
            for (&column, &c) in columns.iter().zip(coefficients) {
                theta[column] = c;
            }
            let r = residual(&rows, ys, &theta);
            if r < best_residual - 1e-9 * best_residual.abs().max(1.0) {
                best_residual = r;
                best = Ernest { theta };
            }
        }
        best
    }

    pub fn predict(&self, s: f64) -> f64 {
        features(s)
            .iter()
            .zip(&self.theta)
            .map(|(f, t)| f * t)
            .sum()
    }
}

/// The normal equations of all four features, summed once: every support's system is a
/// sub-matrix of it.
struct NormalEquations {
    gram: [[f64; FEATURES]; FEATURES],
    rhs: [f64; FEATURES],
}

impl NormalEquations {
    fn of(rows: &[[f64; FEATURES]], ys: &[f64]) -> NormalEquations {
        let mut gram = [[0.0; FEATURES]; FEATURES];
        let mut rhs = [0.0; FEATURES];
        for (row, &y) in rows.iter().zip(ys) {
            for i in 0..FEATURES {
                rhs[i] += row[i] * y;
                for j in 0..FEATURES {
                    gram[i][j] += row[i] * row[j];
                }
            }
        }
        NormalEquations { gram, rhs }
    }

    /// The least-squares coefficients of `columns` (the first `columns.len()` entries).
    fn solve(&self, columns: &[usize]) -> Option<[f64; FEATURES]> {
        // One instance per size, so the elimination's loops have constant bounds.
        match columns.len() {
            1 => self.solve_sized::<1>(columns),
            2 => self.solve_sized::<2>(columns),
            3 => self.solve_sized::<3>(columns),
            4 => self.solve_sized::<4>(columns),
            _ => None,
        }
    }

    fn solve_sized<const N: usize>(&self, columns: &[usize]) -> Option<[f64; FEATURES]> {
        let mut normal = [[0.0; N]; N];
        let mut rhs = [0.0; N];
        for (i, &ci) in columns.iter().enumerate() {
            rhs[i] = self.rhs[ci];
            for (j, &cj) in columns.iter().enumerate() {
                normal[i][j] = self.gram[ci][cj];
            }
        }
        let solution = solve(normal, rhs, N)?;
        let mut coefficients = [0.0; FEATURES];
        coefficients[..N].copy_from_slice(&solution);
        Some(coefficients)
    }
}

fn residual(rows: &[[f64; FEATURES]], ys: &[f64], theta: &[f64; FEATURES]) -> f64 {
    rows.iter()
        .zip(ys)
        .map(|(row, y)| {
            let predicted: f64 = row.iter().zip(theta).map(|(f, t)| f * t).sum();
            (predicted - y).powi(2)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabled_logarithms_are_the_computed_ones_bit_for_bit() {
        for s in 0..TABLE_SCALE_OUTS {
            let s = s as f64;
            assert_eq!(ln(s).to_bits(), s.ln().to_bits(), "ln({s})");
        }
        for s in [0.5, 2.5, TABLE_SCALE_OUTS as f64, 1e6, -1.0] {
            assert_eq!(ln(s).to_bits(), s.ln().to_bits(), "ln({s})");
        }
    }

    #[test]
    fn recovers_known_coefficients() {
        let truth = Ernest {
            theta: [1_000.0, 60_000.0, 0.0, 35.0],
        };
        let xs: Vec<f64> = (2..=30).step_by(2).map(f64::from).collect();
        let ys: Vec<f64> = xs.iter().map(|&s| truth.predict(s)).collect();
        let fitted = Ernest::fit(&xs, &ys);
        for (got, want) in fitted.theta.iter().zip(truth.theta) {
            assert!(
                (got - want).abs() < 1e-6 * want.max(1.0),
                "{:?}",
                fitted.theta
            );
        }
    }

    #[test]
    fn coefficients_stay_non_negative() {
        // Runtime grows with s: an unconstrained fit would make θ1 negative.
        let xs = [4.0, 8.0, 16.0, 32.0];
        let ys = [100.0, 180.0, 330.0, 650.0];
        let fitted = Ernest::fit(&xs, &ys);
        assert!(fitted.theta.iter().all(|&t| t >= 0.0), "{:?}", fitted.theta);
        assert!((fitted.predict(16.0) - 330.0).abs() < 40.0);
    }

    #[test]
    fn noisy_data_fits_closely() {
        let xs: Vec<f64> = [4.0, 4.0, 8.0, 8.0, 12.0, 16.0, 24.0, 36.0].to_vec();
        let ys: Vec<f64> = xs
            .iter()
            .enumerate()
            .map(|(i, &s)| 2_000.0 + 90_000.0 / s + if i % 2 == 0 { 150.0 } else { -150.0 })
            .collect();
        let fitted = Ernest::fit(&xs, &ys);
        assert!(
            (fitted.predict(10.0) - 11_000.0).abs() < 400.0,
            "{:?}",
            fitted.theta
        );
    }
}
