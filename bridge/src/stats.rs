//! The statistics the policies and the replay share: one quantile, one median, and the
//! grouping of job durations by job and scale-out.

use std::collections::BTreeMap;

/// Linear-interpolated quantile (type 7) of unsorted values; None for no values.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    quantile_in_place(&mut values.to_vec(), q)
}

/// [`quantile`], reordering `values` instead of copying them.
pub fn quantile_in_place(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    // The one or two order statistics it needs, by selection rather than a full sort (the
    // same values: `total_cmp` is a total order).
    let (h, lo, hi) = rank(values.len(), q);
    let (_, &mut low, above) = values.select_nth_unstable_by(lo, f64::total_cmp);
    let high = if hi > lo {
        above.iter().copied().min_by(f64::total_cmp).unwrap_or(low)
    } else {
        low
    };
    Some(interpolate(low, high, h - lo as f64))
}

/// [`quantile`] of values already sorted by `f64::total_cmp`.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let (h, lo, hi) = rank(sorted.len(), q);
    Some(interpolate(sorted[lo], sorted[hi], h - lo as f64))
}

/// Where quantile `q` of `n` sorted values lies: its fractional rank and the ranks around it.
fn rank(n: usize, q: f64) -> (f64, usize, usize) {
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    (h, h.floor() as usize, h.ceil() as usize)
}

fn interpolate(low: f64, high: f64, fraction: f64) -> f64 {
    low + fraction * (high - low)
}

/// The median (the middle value, or the mean of the two middle ones); None for no values.
pub fn median(values: &[f64]) -> Option<f64> {
    quantile(values, 0.5)
}

/// [`median`], reordering `values` instead of copying them.
pub fn median_in_place(values: &mut [f64]) -> Option<f64> {
    quantile_in_place(values, 0.5)
}

/// The durations (ms) of each job id, as (scale-out, duration) in the order given.
pub fn durations_by_job(
    jobs: impl IntoIterator<Item = (i64, u32, f64)>,
) -> BTreeMap<i64, Vec<(u32, f64)>> {
    let mut by_job: BTreeMap<i64, Vec<(u32, f64)>> = BTreeMap::new();
    for (job_id, scale_out, duration_ms) in jobs {
        by_job
            .entry(job_id)
            .or_default()
            .push((scale_out, duration_ms));
    }
    by_job
}

/// The median duration at each scale-out, by increasing scale-out: robust points to fit a
/// curve on, which a rare very slow run does not bend.
pub fn median_per_scale_out(points: &[(u32, f64)]) -> Vec<(u32, f64)> {
    let mut by_scale_out: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    for &(scale_out, duration) in points {
        by_scale_out.entry(scale_out).or_default().push(duration);
    }
    by_scale_out
        .into_iter()
        .filter_map(|(scale_out, durations)| Some((scale_out, median(&durations)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        assert_eq!(quantile(&[3.0, 1.0, 2.0], 0.5), Some(2.0));
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((quantile(&ten, 0.9).unwrap() - 9.1).abs() < 1e-9);
        assert_eq!(quantile(&[], 0.9), None);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn durations_group_by_job_then_scale_out() {
        let by_job = durations_by_job([(1, 4, 100.0), (0, 8, 50.0), (1, 8, 60.0), (1, 4, 300.0)]);
        assert_eq!(by_job[&0], vec![(8, 50.0)]);
        assert_eq!(by_job[&1], vec![(4, 100.0), (8, 60.0), (4, 300.0)]);
        assert_eq!(
            median_per_scale_out(&by_job[&1]),
            vec![(4, 200.0), (8, 60.0)]
        );
    }
}
