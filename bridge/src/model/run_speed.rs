//! Each earlier run's speed, told apart from the scale-out's effect.
//!
//! Runs of one application differ in speed at equal scale-out (by up to 3×). A curve fitted on
//! raw durations carries the speed of whichever runs happened to run at each scale-out. The
//! only evidence that separates a run's speed from the scale effect is the same job at the same
//! scale-out in other runs, so speeds come from a two-way fixed-effects fit on those shared
//! (job, scale-out) cells: log duration = run's log speed + cell's log duration, by
//! alternating least squares. A run that shares no cell keeps speed 1 (no evidence).

use crate::history::RunRecord;
use crate::stats::median_in_place;

/// The alternation stops when no run's log speed moves by more than this (0.01 %).
const TOLERANCE: f64 = 1e-4;
/// It converges geometrically; this bounds the work on histories where it is slow.
const MAX_ROUNDS: usize = 200;

/// One finished job of a history as an entry of its (job, scale-out) cell.
#[derive(Debug, Clone, Copy)]
pub struct CellEntry {
    pub job_id: i64,
    pub scale_out: u32,
    /// The run's position in the history (or subset) the cells were made of.
    pub run: usize,
    pub duration_ms: f64,
    log_duration: f64,
}

/// The jobs of a history grouped by (job, scale-out) cell, in cell order and, within a cell,
/// in run order: built once per history, then for any subset of its runs by filtering (which
/// keeps that order, so a subset's cells are exactly those built from its runs).
pub struct JobCells {
    entries: Vec<CellEntry>,
    runs: usize,
}

impl JobCells {
    pub fn of(history: &[&RunRecord]) -> JobCells {
        let mut entries = Vec::with_capacity(history.iter().map(|r| r.jobs.len()).sum());
        entries.extend(history.iter().enumerate().flat_map(|(run, record)| {
            record.jobs.iter().map(move |job| CellEntry {
                job_id: job.job_id,
                scale_out: job.scale_out,
                run,
                duration_ms: job.duration_ms as f64,
                log_duration: (job.duration_ms.max(1) as f64).ln(),
            })
        }));
        entries.sort_by_key(|e| (e.job_id, e.scale_out));
        JobCells {
            entries,
            runs: history.len(),
        }
    }

    /// The cells of the runs `keep` selects, renumbered in order.
    pub fn subset(&self, keep: impl Fn(usize) -> bool) -> JobCells {
        let mut renumbered = vec![None; self.runs];
        let mut runs = 0;
        for (run, slot) in renumbered.iter_mut().enumerate() {
            if keep(run) {
                *slot = Some(runs);
                runs += 1;
            }
        }
        let mut entries = Vec::with_capacity(self.entries.len());
        entries.extend(
            self.entries
                .iter()
                .filter_map(|e| renumbered[e.run].map(|run| CellEntry { run, ..*e })),
        );
        JobCells { entries, runs }
    }

    /// Every entry, by cell: each job's entries are contiguous, by increasing scale-out.
    pub fn entries(&self) -> &[CellEntry] {
        &self.entries
    }

    /// The speed of each run (in order), scaled so that the median run with evidence has
    /// speed 1.
    pub fn run_speeds(&self) -> Vec<f64> {
        let shared: Vec<&[CellEntry]> = self
            .entries
            .chunk_by(|a, b| (a.job_id, a.scale_out) == (b.job_id, b.scale_out))
            .filter(|cell| cell.len() >= 2)
            .collect();
        // Per run: how many of its durations lie in shared cells (the same every round).
        let mut counts = vec![0usize; self.runs];
        for entry in shared.iter().flat_map(|cell| cell.iter()) {
            counts[entry.run] += 1;
        }
        let mut log_speed = vec![0.0; self.runs];
        let mut next = vec![0.0; self.runs];
        let mut excess = vec![0.0; self.runs];
        let mut evidenced = Vec::with_capacity(self.runs);
        for _ in 0..MAX_ROUNDS {
            // Per run: the sum of its durations' excess over their cells' means.
            excess.fill(0.0);
            for cell in &shared {
                let mean = cell
                    .iter()
                    .map(|e| e.log_duration - log_speed[e.run])
                    .sum::<f64>()
                    / cell.len() as f64;
                for e in cell.iter() {
                    excess[e.run] += e.log_duration - mean;
                }
            }
            evidenced.clear();
            evidenced.extend(
                excess
                    .iter()
                    .zip(&counts)
                    .filter(|(_, &n)| n > 0)
                    .map(|(&sum, &n)| sum / n as f64),
            );
            let middle = median_in_place(&mut evidenced).unwrap_or(0.0);
            for ((slot, &sum), &n) in next.iter_mut().zip(&excess).zip(&counts) {
                *slot = if n == 0 { 0.0 } else { sum / n as f64 - middle };
            }
            let moved = next
                .iter()
                .zip(&log_speed)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            std::mem::swap(&mut log_speed, &mut next);
            if moved < TOLERANCE {
                break;
            }
        }
        log_speed.iter().map(|l| l.exp()).collect()
    }
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
        let speeds = JobCells::of(&history).run_speeds();
        for (got, want) in speeds.iter().zip([1.0, 1.5, 0.8]) {
            assert!((got - want).abs() < 0.01, "{speeds:?}");
        }
    }

    #[test]
    fn runs_without_shared_cells_keep_speed_one() {
        let runs = [run(0, &[4, 4], 2.0), run(1, &[8, 8], 0.5)];
        let history: Vec<&RunRecord> = runs.iter().collect();
        assert_eq!(JobCells::of(&history).run_speeds(), vec![1.0, 1.0]);
    }
}
