//! Reading the history: the runs a policy learns from, a run to continue after a restart,
//! summaries for `runs`, rows for `export`.

use rusqlite::{params, Connection, OptionalExtension};

use super::rows::AppRow;
use super::StoreError;
use crate::history::{JobRecord, JobScaleOut, RunRecord};
use crate::runs::RunSummary;

/// What is needed to continue a run after a restart.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningApp {
    pub app: AppRow,
    pub jobs: Vec<JobRecord>,
    /// Jobs started but not ended: (job_id, start_ms, scale_out).
    pub open_jobs: Vec<(i64, i64, i64)>,
    pub current_scale_out: u32,
}

/// One row of the job-level trace format (`crate::trace`).
#[derive(Debug, Clone, PartialEq)]
pub struct TraceRow {
    pub app_event_id: String,
    pub app_name: String,
    pub app_start_ms: i64,
    pub app_end_ms: i64,
    pub job_id: i64,
    pub job_start_ms: i64,
    pub job_end_ms: i64,
    pub scale_out: u32,
}

/// A job of one run as the bridge saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunJob {
    pub job_id: i64,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub start_scale_out: Option<i64>,
    pub end_scale_out: Option<i64>,
    pub predicted_end_ms: Option<i64>,
}

/// A recommendation the bridge made in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDecision {
    pub time_ms: i64,
    pub event_type: String,
    pub job_id: Option<i64>,
    pub from_scale_out: Option<i64>,
    pub to_scale_out: i64,
    pub reason: String,
}

/// One run with its jobs and decisions, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDetail {
    pub summary: RunSummary,
    /// APPLICATION_END's executors (None while running).
    pub final_scale_out: Option<i64>,
    pub jobs: Vec<RunJob>,
    pub decisions: Vec<RunDecision>,
}

pub struct Reader {
    pub(super) conn: Connection,
}

impl Reader {
    /// The highest numeric app_event_id issued so far (0 when none).
    pub fn max_app_event_id(&self) -> Result<u64, StoreError> {
        let max: Option<i64> = self.conn.query_row(
            "SELECT MAX(CAST(app_event_id AS INTEGER)) FROM applications",
            [],
            |r| r.get(0),
        )?;
        Ok(max.unwrap_or(0).max(0) as u64)
    }

    /// Finished runs of an application, oldest first, at most the `limit` most recent ones;
    /// the jobs' scale-outs derived by `job_scale_out`.
    pub fn finished_runs(
        &self,
        app_name: &str,
        limit: usize,
        job_scale_out: JobScaleOut,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let mut apps = self.conn.prepare_cached(
            "SELECT app_event_id, is_adaptive, start_ms, end_ms, target_runtime_ms FROM applications
             WHERE app_name = ?1 AND end_ms IS NOT NULL ORDER BY start_ms DESC, app_event_id DESC LIMIT ?2",
        )?;
        let mut runs: Vec<RunRecord> = apps
            .query_map(params![app_name, limit as i64], |r| {
                let start: i64 = r.get(2)?;
                let end: i64 = r.get(3)?;
                Ok(RunRecord {
                    app_event_id: r.get(0)?,
                    is_adaptive: r.get(1)?,
                    start_ms: start,
                    runtime_ms: end - start,
                    target_ms: r.get(4)?,
                    jobs: Vec::new(),
                })
            })?
            .collect::<Result<_, _>>()?;
        runs.reverse();
        for run in &mut runs {
            run.jobs = self.finished_jobs(&run.app_event_id, job_scale_out)?;
        }
        Ok(runs)
    }

    fn finished_jobs(
        &self,
        app_event_id: &str,
        job_scale_out: JobScaleOut,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let mut jobs = self.conn.prepare_cached(
            "SELECT job_id, start_ms, end_ms, start_scale_out, end_scale_out FROM jobs
             WHERE app_event_id = ?1 AND start_ms IS NOT NULL AND end_ms IS NOT NULL ORDER BY job_id",
        )?;
        let rows = jobs.query_map(params![app_event_id], |r| {
            let job_id: i64 = r.get(0)?;
            let start: i64 = r.get(1)?;
            let end: i64 = r.get(2)?;
            Ok(job_scale_out
                .of(r.get(3)?, r.get(4)?)
                .map(|scale_out| JobRecord {
                    job_id,
                    scale_out,
                    duration_ms: end - start,
                }))
        })?;
        Ok(rows
            .filter_map(|r| r.transpose())
            .collect::<Result<_, _>>()?)
    }

    /// A run that started and has not ended, for continuing it after a restart.
    pub fn running_app(
        &self,
        app_event_id: &str,
        job_scale_out: JobScaleOut,
    ) -> Result<Option<RunningApp>, StoreError> {
        let app = self
            .conn
            .query_row(
                &format!(
                    "{} WHERE app_event_id = ?1 AND end_ms IS NULL",
                    AppRow::COLUMNS.select()
                ),
                params![app_event_id],
                AppRow::from_row,
            )
            .optional()?;
        let Some(app) = app else {
            return Ok(None);
        };
        let jobs = self.finished_jobs(app_event_id, job_scale_out)?;
        let mut open = self.conn.prepare_cached(
            "SELECT job_id, start_ms, start_scale_out FROM jobs
             WHERE app_event_id = ?1 AND start_ms IS NOT NULL AND end_ms IS NULL ORDER BY job_id",
        )?;
        let open_jobs = open
            .query_map(params![app_event_id], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get::<_, Option<i64>>(2)?.unwrap_or(0),
                ))
            })?
            .collect::<Result<_, _>>()?;
        let current: Option<u32> = self
            .conn
            .query_row(
                "SELECT to_scale_out FROM recommendations WHERE app_event_id = ?1 ORDER BY id DESC LIMIT 1",
                params![app_event_id],
                |r| r.get(0),
            )
            .optional()?;
        let current_scale_out = current.unwrap_or(app.initial_scale_out);
        Ok(Some(RunningApp {
            app,
            jobs,
            open_jobs,
            current_scale_out,
        }))
    }

    /// All runs, oldest first, optionally of one application.
    pub fn runs(&self, app_name: Option<&str>) -> Result<Vec<RunSummary>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT app_event_id, app_name, is_adaptive, start_ms, end_ms, target_runtime_ms, initial_scale_out,
             policy FROM applications WHERE ?1 IS NULL OR app_name = ?1 ORDER BY start_ms, app_event_id",
        )?;
        let mut runs: Vec<RunSummary> = stmt
            .query_map(params![app_name], |r| {
                Ok(RunSummary {
                    app_event_id: r.get(0)?,
                    app_name: r.get(1)?,
                    is_adaptive: r.get(2)?,
                    start_ms: r.get(3)?,
                    end_ms: r.get(4)?,
                    target_runtime_ms: r.get(5)?,
                    scale_outs: vec![r.get(6)?],
                    policy: r.get(7)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut changes = self.conn.prepare_cached(
            "SELECT to_scale_out FROM recommendations WHERE app_event_id = ?1 AND event_type != 'APPLICATION_START'
             ORDER BY id",
        )?;
        for run in &mut runs {
            let later: Vec<u32> = changes
                .query_map(params![run.app_event_id], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            run.scale_outs.extend(later);
        }
        Ok(runs)
    }

    /// One run with its jobs and decisions; None when there is no such run.
    pub fn run_detail(&self, app_event_id: &str) -> Result<Option<RunDetail>, StoreError> {
        let summary = self.conn.query_row(
            "SELECT app_event_id, app_name, is_adaptive, start_ms, end_ms, target_runtime_ms, initial_scale_out,
             policy, final_scale_out FROM applications WHERE app_event_id = ?1",
            params![app_event_id],
            |r| {
                Ok((
                    RunSummary {
                        app_event_id: r.get(0)?,
                        app_name: r.get(1)?,
                        is_adaptive: r.get(2)?,
                        start_ms: r.get(3)?,
                        end_ms: r.get(4)?,
                        target_runtime_ms: r.get(5)?,
                        scale_outs: vec![r.get(6)?],
                        policy: r.get(7)?,
                    },
                    r.get::<_, Option<i64>>(8)?,
                ))
            },
        );
        let (mut summary, final_scale_out) = match summary.optional()? {
            Some(found) => found,
            None => return Ok(None),
        };
        let mut jobs = self.conn.prepare_cached(
            "SELECT job_id, start_ms, end_ms, start_scale_out, end_scale_out, predicted_end_ms FROM jobs WHERE app_event_id = ?1
             ORDER BY COALESCE(start_ms, end_ms), job_id",
        )?;
        let jobs: Vec<RunJob> = jobs
            .query_map(params![app_event_id], |r| {
                Ok(RunJob {
                    job_id: r.get(0)?,
                    start_ms: r.get(1)?,
                    end_ms: r.get(2)?,
                    start_scale_out: r.get(3)?,
                    end_scale_out: r.get(4)?,
                    predicted_end_ms: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut decisions = self.conn.prepare_cached(
            "SELECT time_ms, event_type, job_id, from_scale_out, to_scale_out, reason FROM recommendations
             WHERE app_event_id = ?1 ORDER BY id",
        )?;
        let decisions: Vec<RunDecision> = decisions
            .query_map(params![app_event_id], |r| {
                Ok(RunDecision {
                    time_ms: r.get(0)?,
                    event_type: r.get(1)?,
                    job_id: r.get(2)?,
                    from_scale_out: r.get(3)?,
                    to_scale_out: r.get(4)?,
                    reason: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        summary.scale_outs.extend(
            decisions
                .iter()
                .filter(|d| d.event_type != "APPLICATION_START")
                .map(|d| d.to_scale_out.max(0) as u32),
        );
        Ok(Some(RunDetail {
            summary,
            final_scale_out,
            jobs,
            decisions,
        }))
    }

    /// Job rows of the finished runs of an application, in the trace format's order; the jobs'
    /// scale-outs derived by `job_scale_out`.
    pub fn trace_rows(
        &self,
        app_name: &str,
        job_scale_out: JobScaleOut,
    ) -> Result<Vec<TraceRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT a.app_event_id, a.app_name, a.start_ms, a.end_ms, j.job_id, j.start_ms, j.end_ms,
             j.start_scale_out, j.end_scale_out
             FROM applications a JOIN jobs j ON j.app_event_id = a.app_event_id
             WHERE a.app_name = ?1 AND a.end_ms IS NOT NULL AND j.start_ms IS NOT NULL AND j.end_ms IS NOT NULL
             ORDER BY a.start_ms, a.app_event_id, j.job_id",
        )?;
        let rows = stmt.query_map(params![app_name], |r| {
            Ok(TraceRow {
                app_event_id: r.get(0)?,
                app_name: r.get(1)?,
                app_start_ms: r.get(2)?,
                app_end_ms: r.get(3)?,
                job_id: r.get(4)?,
                job_start_ms: r.get(5)?,
                job_end_ms: r.get(6)?,
                scale_out: job_scale_out.of(r.get(7)?, r.get(8)?).unwrap_or(0),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Row counts per table, for tests and the soak check.
    pub fn counts(&self) -> Result<(i64, i64, i64, i64), StoreError> {
        let count = |table: &str| -> Result<i64, StoreError> {
            Ok(self
                .conn
                .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?)
        };
        Ok((
            count("applications")?,
            count("jobs")?,
            count("stages")?,
            count("recommendations")?,
        ))
    }
}
