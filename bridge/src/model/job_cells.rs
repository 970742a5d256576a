//! A history's job durations grouped by (job, scale-out) cell: the points the curves are fitted
//! on, for the whole history and for any subset of its runs (the calibration folds).

use crate::history::RunRecord;

/// One finished job of a history as an entry of its (job, scale-out) cell.
#[derive(Debug, Clone, Copy)]
pub struct CellEntry {
    pub job_id: i64,
    pub scale_out: u32,
    /// The run's position in the history (or subset) the cells were made of.
    pub run: usize,
    pub duration_ms: f64,
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::JobRecord;

    /// A run whose job j ran at `scale_outs[j]`.
    fn run(id: usize, scale_outs: &[u32]) -> RunRecord {
        let jobs: Vec<JobRecord> = scale_outs
            .iter()
            .enumerate()
            .map(|(j, &s)| JobRecord {
                job_id: j as i64,
                scale_out: s,
                duration_ms: 1_000 + 40_000 * (j as i64 + 1) / i64::from(s),
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

    /// Three runs of two jobs sharing some (job, scale-out) cells.
    fn three_runs() -> [RunRecord; 3] {
        [run(0, &[8, 16]), run(1, &[8, 8]), run(2, &[4, 16])]
    }

    fn cells(cells: &JobCells) -> Vec<(i64, u32, usize)> {
        cells
            .entries()
            .iter()
            .map(|e| (e.job_id, e.scale_out, e.run))
            .collect()
    }

    #[test]
    fn entries_are_grouped_by_cell_in_run_order() {
        let runs = three_runs();
        let history: Vec<&RunRecord> = runs.iter().collect();
        assert_eq!(
            cells(&JobCells::of(&history)),
            vec![
                (0, 4, 2),
                (0, 8, 0),
                (0, 8, 1),
                (1, 8, 1),
                (1, 16, 0),
                (1, 16, 2)
            ]
        );
    }

    #[test]
    fn a_subset_has_exactly_the_cells_of_its_runs_renumbered() {
        let runs = three_runs();
        let history: Vec<&RunRecord> = runs.iter().collect();
        let subset = JobCells::of(&history).subset(|run| run != 1);
        let kept: Vec<&RunRecord> = vec![&runs[0], &runs[2]];
        assert_eq!(cells(&subset), cells(&JobCells::of(&kept)));
        assert_eq!(
            cells(&subset),
            vec![(0, 4, 1), (0, 8, 0), (1, 16, 0), (1, 16, 1)]
        );
    }
}
