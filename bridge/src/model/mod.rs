//! Runtime models of one job as a function of the scale-out.

mod bell;
mod ernest;
mod job_cells;
mod kernel;
mod linalg;

pub use bell::Bell;
pub use ernest::Ernest;
pub use job_cells::{CellEntry, JobCells};
pub use kernel::KernelRegression;

use crate::history::ScaleOutRange;

/// The model used inside the observed scale-outs of a job seen at more than five.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interpolation {
    /// Bell, as published.
    Bell,
    /// Ernest, as the deployed Python bridge ends up using (its Bell fit always fails).
    Ernest,
}

/// Ellis's model choice for one job's training points `(scale_out, duration_ms)`, predicted
/// for every scale-out of `range`: the mean for ≤ 2 distinct scale-outs, Ernest for ≤ 5, else
/// `interpolation` inside the observed scale-outs and Ernest outside them.
pub fn ellis_predictions(
    points: &[(f64, f64)],
    range: ScaleOutRange,
    interpolation: Interpolation,
) -> Vec<f64> {
    if points.is_empty() {
        return vec![0.0; range.len()];
    }
    let xs: Vec<f64> = points.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = points.iter().map(|p| p.1).collect();
    let distinct = distinct_count(&xs);
    if distinct <= 2 {
        let mean = ys.iter().sum::<f64>() / ys.len() as f64;
        return vec![mean; range.len()];
    }
    let ernest = Ernest::fit(&xs, &ys);
    if distinct <= 5 || interpolation == Interpolation::Ernest {
        return range
            .values()
            .map(|s| ernest.predict(f64::from(s)))
            .collect();
    }
    let bell = Bell::fit(&xs, &ys);
    let lowest = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let highest = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    range
        .values()
        .map(f64::from)
        .map(|s| {
            if (lowest..=highest).contains(&s) {
                bell.predict(s)
            } else {
                ernest.predict(s)
            }
        })
        .collect()
}

pub fn distinct_count(xs: &[f64]) -> usize {
    let mut sorted = xs.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    sorted.dedup();
    sorted.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_choice_follows_the_number_of_scale_outs() {
        let range = ScaleOutRange::new(4, 8);
        let two = [(4.0, 100.0), (8.0, 60.0), (8.0, 80.0)];
        assert_eq!(
            ellis_predictions(&two, range, Interpolation::Bell),
            vec![80.0; 5]
        );

        let curve = |s: f64| 1_000.0 + 8_000.0 / s;
        let few: Vec<(f64, f64)> = [4.0, 5.0, 6.0].iter().map(|&s| (s, curve(s))).collect();
        let predicted = ellis_predictions(&few, range, Interpolation::Bell);
        assert!((predicted[4] - curve(8.0)).abs() < 1.0, "{predicted:?}");

        let many: Vec<(f64, f64)> = (2..=7)
            .map(|s| (f64::from(s), curve(f64::from(s))))
            .collect();
        let predicted = ellis_predictions(&many, range, Interpolation::Bell);
        for (s, p) in range.values().zip(&predicted) {
            assert!(
                (p - curve(f64::from(s))).abs() < 20.0,
                "s={s}: {p} vs {}",
                curve(f64::from(s))
            );
        }
    }

    #[test]
    fn ernest_interpolation_is_ernest_everywhere() {
        let range = ScaleOutRange::new(2, 9);
        let points: Vec<(f64, f64)> = (2..=8)
            .map(|s| (f64::from(s), if s == 5 { 900.0 } else { 100.0 }))
            .collect();
        let xs: Vec<f64> = points.iter().map(|p| p.0).collect();
        let ys: Vec<f64> = points.iter().map(|p| p.1).collect();
        let ernest = Ernest::fit(&xs, &ys);
        let expected: Vec<f64> = range
            .values()
            .map(|s| ernest.predict(f64::from(s)))
            .collect();
        assert_eq!(
            ellis_predictions(&points, range, Interpolation::Ernest),
            expected
        );
    }

    #[test]
    fn no_data_predicts_nothing() {
        assert_eq!(
            ellis_predictions(&[], ScaleOutRange::new(1, 3), Interpolation::Bell),
            vec![0.0; 3]
        );
    }
}
