//! Run history in SQLite (WAL): applications, jobs, stages with all metrics, and every
//! recommendation. Writes go through one writer thread that batches them into transactions,
//! so request handling never waits for the disk; reads use their own connections.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

use parking_lot::Mutex;
use rusqlite::{params, Connection, OptionalExtension};

use crate::history::{JobRecord, RunRecord};
use pacer_protocol::Stage;

/// Operations applied per transaction at most, so a burst does not hold the write lock long.
const BATCH: usize = 5_000;
/// Writes arriving within this time of the first one share its transaction (group commit):
/// far fewer commits under load, at the price of this much delay before data is durable.
const GROUP_COMMIT: std::time::Duration = std::time::Duration::from_millis(5);

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS applications (
    app_event_id      TEXT PRIMARY KEY,
    application_id    TEXT NOT NULL,
    app_name          TEXT NOT NULL,
    algorithm_name    TEXT NOT NULL,
    algorithm_args    TEXT NOT NULL,
    is_adaptive       INTEGER NOT NULL,
    is_training       INTEGER NOT NULL,
    datasize_mb       INTEGER NOT NULL,
    target_runtime_ms INTEGER NOT NULL,
    min_executors     INTEGER NOT NULL,
    max_executors     INTEGER NOT NULL,
    driver_specs      TEXT NOT NULL,
    executor_specs    TEXT NOT NULL,
    environment_specs TEXT NOT NULL,
    policy            TEXT NOT NULL,
    start_ms          INTEGER NOT NULL,
    end_ms            INTEGER,
    initial_scale_out INTEGER NOT NULL,
    final_scale_out   INTEGER
);
CREATE INDEX IF NOT EXISTS applications_by_name ON applications (app_name, start_ms);
CREATE TABLE IF NOT EXISTS jobs (
    app_event_id         TEXT NOT NULL,
    job_id               INTEGER NOT NULL,
    start_ms             INTEGER,
    end_ms               INTEGER,
    start_scale_out      INTEGER,
    end_scale_out        INTEGER,
    rescaling_time_ratio REAL,
    PRIMARY KEY (app_event_id, job_id)
);
CREATE TABLE IF NOT EXISTS stages (
    app_event_id              TEXT NOT NULL,
    job_id                    INTEGER NOT NULL,
    stage_id                  INTEGER NOT NULL,
    stage_name                TEXT NOT NULL,
    num_tasks                 INTEGER NOT NULL,
    parent_stage_ids          TEXT NOT NULL,
    attempt_id                INTEGER NOT NULL,
    failure_reason            TEXT NOT NULL,
    start_time                INTEGER NOT NULL,
    end_time                  INTEGER NOT NULL,
    start_scale_out           INTEGER NOT NULL,
    end_scale_out             INTEGER NOT NULL,
    rescaling_time_ratio      REAL NOT NULL,
    rdd_num_partitions        INTEGER NOT NULL,
    rdd_num_cached_partitions INTEGER NOT NULL,
    rdd_mem_size              INTEGER NOT NULL,
    rdd_disk_size             INTEGER NOT NULL,
    cpu_utilization           REAL NOT NULL,
    gc_time_ratio             REAL NOT NULL,
    shuffle_read_write_ratio  REAL NOT NULL,
    input_output_ratio        REAL NOT NULL,
    memory_spill_ratio        REAL NOT NULL,
    PRIMARY KEY (app_event_id, job_id, stage_id)
);
CREATE TABLE IF NOT EXISTS recommendations (
    id            INTEGER PRIMARY KEY,
    app_event_id  TEXT NOT NULL,
    time_ms       INTEGER NOT NULL,
    event_type    TEXT NOT NULL,
    job_id        INTEGER,
    from_scale_out INTEGER,
    to_scale_out  INTEGER NOT NULL,
    reason        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS recommendations_by_app ON recommendations (app_event_id, id);
"#;

/// An application as APPLICATION_START described it.
#[derive(Debug, Clone, PartialEq)]
pub struct AppRow {
    pub app_event_id: String,
    pub application_id: String,
    pub app_name: String,
    pub algorithm_name: String,
    pub algorithm_args: Vec<String>,
    pub is_adaptive: bool,
    pub is_training: bool,
    pub datasize_mb: i64,
    pub target_runtime_ms: i64,
    pub min_executors: u32,
    pub max_executors: u32,
    pub driver_specs: String,
    pub executor_specs: String,
    pub environment_specs: String,
    pub policy: String,
    pub start_ms: i64,
    pub initial_scale_out: u32,
}

/// A write, applied in order by the writer thread.
#[derive(Debug)]
pub enum Write {
    AppStarted(Box<AppRow>),
    JobStarted {
        app_event_id: String,
        job_id: i64,
        start_ms: i64,
        scale_out: i64,
    },
    JobEnded {
        app_event_id: String,
        job_id: i64,
        end_ms: i64,
        scale_out: i64,
        rescaling_time_ratio: f64,
        stages: Vec<Stage>,
    },
    Recommended {
        app_event_id: String,
        time_ms: i64,
        event_type: &'static str,
        job_id: Option<i64>,
        from: Option<u32>,
        to: u32,
        reason: String,
    },
    AppEnded {
        app_event_id: String,
        end_ms: i64,
        final_scale_out: i64,
    },
    /// Answered once everything sent before it is committed.
    Flush(SyncSender<()>),
}

#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(e.to_string())
    }
}

pub struct Store {
    path: PathBuf,
    sender: Mutex<Option<Sender<Write>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)
        .map_err(|e| StoreError(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // WAL: readers never block the writer. NORMAL: a commit survives the process being killed
    // (it is in the WAL file); only a power loss can take the last commits.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

impl Store {
    /// Opens (creating if needed) the database and starts the writer thread.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = open_connection(path)?;
        conn.execute_batch(SCHEMA)?;
        let (sender, receiver) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || write_loop(conn, receiver))
            .map_err(|e| StoreError(format!("cannot start the store writer: {e}")))?;
        Ok(Store {
            path: path.to_path_buf(),
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
        })
    }

    pub fn write(&self, write: Write) {
        if let Some(sender) = self.sender.lock().as_ref() {
            let _ = sender.send(write);
        }
    }

    /// Waits until every write sent before is committed.
    pub fn flush(&self) {
        let (ack, done) = mpsc::sync_channel(1);
        self.write(Write::Flush(ack));
        let _ = done.recv();
    }

    /// A connection for reads.
    pub fn reader(&self) -> Result<Reader, StoreError> {
        Ok(Reader {
            conn: open_connection(&self.path)?,
        })
    }

    /// Commits everything pending and stops the writer. Idempotent.
    pub fn close(&self) {
        self.sender.lock().take();
        if let Some(writer) = self.writer.lock().take() {
            let _ = writer.join();
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}

fn write_loop(mut conn: Connection, receiver: Receiver<Write>) {
    lower_thread_priority();
    while let Ok(first) = receiver.recv() {
        let deadline = std::time::Instant::now() + GROUP_COMMIT;
        let mut batch = vec![first];
        while batch.len() < BATCH {
            let wait = deadline.saturating_duration_since(std::time::Instant::now());
            match receiver.recv_timeout(wait) {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        let mut acks = Vec::new();
        if let Err(e) = apply(&mut conn, batch, &mut acks) {
            log::error!("history store: a batch of writes failed and was rolled back: {e}");
        }
        for ack in acks {
            let _ = ack.send(());
        }
    }
}

fn apply(
    conn: &mut Connection,
    batch: Vec<Write>,
    acks: &mut Vec<SyncSender<()>>,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    for write in batch {
        match write {
            Write::AppStarted(app) => {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO applications (app_event_id, application_id, app_name, algorithm_name,
                     algorithm_args, is_adaptive, is_training, datasize_mb, target_runtime_ms, min_executors,
                     max_executors, driver_specs, executor_specs, environment_specs, policy, start_ms,
                     initial_scale_out) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)",
                )?
                .execute(params![
                    app.app_event_id,
                    app.application_id,
                    app.app_name,
                    app.algorithm_name,
                    serde_json::to_string(&app.algorithm_args).unwrap_or_default(),
                    app.is_adaptive,
                    app.is_training,
                    app.datasize_mb,
                    app.target_runtime_ms,
                    app.min_executors,
                    app.max_executors,
                    app.driver_specs,
                    app.executor_specs,
                    app.environment_specs,
                    app.policy,
                    app.start_ms,
                    app.initial_scale_out,
                ])?;
            }
            Write::JobStarted {
                app_event_id,
                job_id,
                start_ms,
                scale_out,
            } => {
                tx.prepare_cached(
                    "INSERT INTO jobs (app_event_id, job_id, start_ms, start_scale_out) VALUES (?1,?2,?3,?4)
                     ON CONFLICT (app_event_id, job_id) DO UPDATE SET start_ms = ?3, start_scale_out = ?4",
                )?
                .execute(params![app_event_id, job_id, start_ms, scale_out])?;
            }
            Write::JobEnded {
                app_event_id,
                job_id,
                end_ms,
                scale_out,
                rescaling_time_ratio,
                stages,
            } => {
                tx.prepare_cached(
                    "INSERT INTO jobs (app_event_id, job_id, end_ms, end_scale_out, rescaling_time_ratio)
                     VALUES (?1,?2,?3,?4,?5) ON CONFLICT (app_event_id, job_id)
                     DO UPDATE SET end_ms = ?3, end_scale_out = ?4, rescaling_time_ratio = ?5",
                )?
                .execute(params![app_event_id, job_id, end_ms, scale_out, rescaling_time_ratio])?;
                let mut insert = tx.prepare_cached(
                    "INSERT OR REPLACE INTO stages VALUES
                     (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22)",
                )?;
                for s in stages {
                    let stage_id: i64 = s.stage_id.parse().unwrap_or(-1);
                    insert.execute(params![
                        app_event_id,
                        job_id,
                        stage_id,
                        s.stage_name,
                        s.num_tasks,
                        serde_json::to_string(&s.parent_stage_ids).unwrap_or_default(),
                        s.attempt_id,
                        s.failure_reason,
                        s.start_time,
                        s.end_time,
                        s.start_scale_out,
                        s.end_scale_out,
                        s.rescaling_time_ratio,
                        s.rdd_num_partitions,
                        s.rdd_num_cached_partitions,
                        s.rdd_mem_size,
                        s.rdd_disk_size,
                        s.metrics.cpu_utilization,
                        s.metrics.gc_time_ratio,
                        s.metrics.shuffle_read_write_ratio,
                        s.metrics.input_output_ratio,
                        s.metrics.memory_spill_ratio,
                    ])?;
                }
            }
            Write::Recommended {
                app_event_id,
                time_ms,
                event_type,
                job_id,
                from,
                to,
                reason,
            } => {
                tx.prepare_cached(
                    "INSERT INTO recommendations (app_event_id, time_ms, event_type, job_id, from_scale_out,
                     to_scale_out, reason) VALUES (?1,?2,?3,?4,?5,?6,?7)",
                )?
                .execute(params![app_event_id, time_ms, event_type, job_id, from, to, reason])?;
            }
            Write::AppEnded {
                app_event_id,
                end_ms,
                final_scale_out,
            } => {
                tx.prepare_cached("UPDATE applications SET end_ms = ?2, final_scale_out = ?3 WHERE app_event_id = ?1")?
                    .execute(params![app_event_id, end_ms, final_scale_out])?;
            }
            Write::Flush(ack) => acks.push(ack),
        }
    }
    tx.commit()
}

/// Disk writes must not take the CPU from answering requests (on a small machine they would
/// add to every reply's latency): the writer runs at a lower scheduling priority.
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    unsafe {
        let thread_id = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, thread_id, 10);
    }
}

/// A past or running application, as `runs` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub app_event_id: String,
    pub app_name: String,
    pub is_adaptive: bool,
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    pub target_runtime_ms: i64,
    /// Initial scale-out, then every change, in order.
    pub scale_outs: Vec<u32>,
    pub policy: String,
}

impl RunSummary {
    pub fn runtime_ms(&self) -> Option<i64> {
        self.end_ms.map(|end| end - self.start_ms)
    }

    /// None while running or for profiling runs (no target).
    pub fn met_target(&self) -> Option<bool> {
        match (
            self.runtime_ms(),
            self.is_adaptive && self.target_runtime_ms > 0,
        ) {
            (Some(runtime), true) => Some(runtime <= self.target_runtime_ms),
            _ => None,
        }
    }
}

/// What is needed to continue a run after a restart.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningApp {
    pub app: AppRow,
    pub jobs: Vec<JobRecord>,
    /// Jobs started but not ended: (job_id, start_ms, scale_out).
    pub open_jobs: Vec<(i64, i64, i64)>,
    pub current_scale_out: u32,
}

/// One row of the job-level trace format of ../shared/traces.
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

pub struct Reader {
    conn: Connection,
}

/// Executors while a job ran: the mean of its start and end scale-outs, rounded.
fn job_scale_out(start: Option<i64>, end: Option<i64>) -> Option<u32> {
    let s = match (start, end) {
        (Some(a), Some(b)) => (a + b + 1) / 2,
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => return None,
    };
    Some(s.max(0) as u32)
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

    /// Finished runs of an application, oldest first, at most the `limit` most recent ones.
    pub fn finished_runs(
        &self,
        app_name: &str,
        limit: usize,
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
            run.jobs = self.finished_jobs(&run.app_event_id)?;
        }
        Ok(runs)
    }

    fn finished_jobs(&self, app_event_id: &str) -> Result<Vec<JobRecord>, StoreError> {
        let mut jobs = self.conn.prepare_cached(
            "SELECT job_id, start_ms, end_ms, start_scale_out, end_scale_out FROM jobs
             WHERE app_event_id = ?1 AND start_ms IS NOT NULL AND end_ms IS NOT NULL ORDER BY job_id",
        )?;
        let rows = jobs.query_map(params![app_event_id], |r| {
            let job_id: i64 = r.get(0)?;
            let start: i64 = r.get(1)?;
            let end: i64 = r.get(2)?;
            Ok(
                job_scale_out(r.get(3)?, r.get(4)?).map(|scale_out| JobRecord {
                    job_id,
                    scale_out,
                    duration_ms: end - start,
                }),
            )
        })?;
        Ok(rows
            .filter_map(|r| r.transpose())
            .collect::<Result<_, _>>()?)
    }

    /// A run that started and has not ended, for continuing it after a restart.
    pub fn running_app(&self, app_event_id: &str) -> Result<Option<RunningApp>, StoreError> {
        let app = self
            .conn
            .query_row(
                "SELECT app_event_id, application_id, app_name, algorithm_name, algorithm_args, is_adaptive,
                 is_training, datasize_mb, target_runtime_ms, min_executors, max_executors, driver_specs,
                 executor_specs, environment_specs, policy, start_ms, initial_scale_out
                 FROM applications WHERE app_event_id = ?1 AND end_ms IS NULL",
                params![app_event_id],
                |r| {
                    let args: String = r.get(4)?;
                    Ok(AppRow {
                        app_event_id: r.get(0)?,
                        application_id: r.get(1)?,
                        app_name: r.get(2)?,
                        algorithm_name: r.get(3)?,
                        algorithm_args: serde_json::from_str(&args).unwrap_or_default(),
                        is_adaptive: r.get(5)?,
                        is_training: r.get(6)?,
                        datasize_mb: r.get(7)?,
                        target_runtime_ms: r.get(8)?,
                        min_executors: r.get(9)?,
                        max_executors: r.get(10)?,
                        driver_specs: r.get(11)?,
                        executor_specs: r.get(12)?,
                        environment_specs: r.get(13)?,
                        policy: r.get(14)?,
                        start_ms: r.get(15)?,
                        initial_scale_out: r.get(16)?,
                    })
                },
            )
            .optional()?;
        let Some(app) = app else {
            return Ok(None);
        };
        let jobs = self.finished_jobs(app_event_id)?;
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

    /// Job rows of the finished runs of an application, in the trace format's order.
    pub fn trace_rows(&self, app_name: &str) -> Result<Vec<TraceRow>, StoreError> {
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
                scale_out: job_scale_out(r.get(7)?, r.get(8)?).unwrap_or(0),
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

#[cfg(test)]
mod tests;
