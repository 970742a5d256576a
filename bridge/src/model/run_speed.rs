//! Each earlier run's speed, told apart from the scale-out's effect.
//!
//! Runs of one application differ in speed at equal scale-out (by up to 3×). A curve fitted on
//! raw durations carries the speed of whichever runs happened to run at each scale-out. The
//! only evidence that separates a run's speed from the scale effect is the same job at the same
//! scale-out in other runs, so speeds come from a two-way fixed-effects fit on those shared
//! (job, scale-out) cells: log duration = run's log speed + cell's log duration, by
//! alternating least squares. A run that shares no cell keeps speed 1 (no evidence).

use std::collections::BTreeMap;

use crate::history::RunRecord;
use crate::stats::median;

/// The alternation stops when no run's log speed moves by more than this (0.01 %).
const TOLERANCE: f64 = 1e-4;
/// It converges geometrically; this bounds the work on histories where it is slow.
const MAX_ROUNDS: usize = 200;

/// The speed of each run of `history` (same order), scaled so that the median run with
/// evidence has speed 1.
pub fn run_speeds(history: &[&RunRecord]) -> Vec<f64> {
    let mut cells: BTreeMap<(i64, u32), Vec<(usize, f64)>> = BTreeMap::new();
    for (run, record) in history.iter().enumerate() {
        for job in &record.jobs {
            let log_duration = (job.duration_ms.max(1) as f64).ln();
            cells
                .entry((job.job_id, job.scale_out))
                .or_default()
                .push((run, log_duration));
        }
    }
    cells.retain(|_, entries| entries.len() >= 2);
    let mut log_speed = vec![0.0; history.len()];
    for _ in 0..MAX_ROUNDS {
        // Per run: the sum and count of its durations' excess over their cells' means.
        let mut excess = vec![(0.0, 0usize); history.len()];
        for entries in cells.values() {
            let cell = entries
                .iter()
                .map(|&(run, d)| d - log_speed[run])
                .sum::<f64>()
                / entries.len() as f64;
            for &(run, d) in entries {
                excess[run].0 += d - cell;
                excess[run].1 += 1;
            }
        }
        let evidenced: Vec<f64> = excess
            .iter()
            .filter(|e| e.1 > 0)
            .map(|&(sum, n)| sum / n as f64)
            .collect();
        let middle = median(&evidenced).unwrap_or(0.0);
        let next: Vec<f64> = excess
            .iter()
            .map(|&(sum, n)| if n == 0 { 0.0 } else { sum / n as f64 - middle })
            .collect();
        let moved = next
            .iter()
            .zip(&log_speed)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        log_speed = next;
        if moved < TOLERANCE {
            break;
        }
    }
    log_speed.iter().map(|l| l.exp()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::JobRecord;

    fn run(id: usize, scale_outs: &[u32], speed: f64) -> RunRecord {
        let jobs: Vec<JobRecord> = scale_outs
            .iter()
            .enumerate()
            .map(|(j, &s)| JobRecord {
                job_id: j as i64,
                scale_out: s,
                duration_ms: (speed * (1_000.0 + 40_000.0 * (j + 1) as f64 / f64::from(s))) as i64,
            })
            .collect();
        RunRecord {
            app_event_id: id.to_string(),
            is_adaptive: true,
            start_ms: 0,
            runtime_ms: jobs.iter().map(|j| j.duration_ms).sum(),
            target_ms: 0,
            jobs,
        }
    }

    #[test]
    fn recovers_run_speeds_from_shared_cells_linked_across_scale_outs() {
        // Run 0 shares scale-out 8 with run 1 and 16 with run 2 (rescaled mid-run): all three
        // are linked, whatever the scale effect.
        let runs = [
            run(0, &[8, 8, 16, 16], 1.0),
            run(1, &[8, 8, 8, 8], 1.5),
            run(2, &[4, 4, 16, 16], 0.8),
        ];
        let history: Vec<&RunRecord> = runs.iter().collect();
        let speeds = run_speeds(&history);
        for (got, want) in speeds.iter().zip([1.0, 1.5, 0.8]) {
            assert!((got - want).abs() < 0.01, "{speeds:?}");
        }
    }

    #[test]
    fn runs_without_shared_cells_keep_speed_one() {
        let runs = [run(0, &[4, 4], 2.0), run(1, &[8, 8], 0.5)];
        let history: Vec<&RunRecord> = runs.iter().collect();
        assert_eq!(run_speeds(&history), vec![1.0, 1.0]);
    }
}
