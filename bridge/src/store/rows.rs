//! The rows the store writes. Each row type names its table's columns once; its insert (or
//! update) statement is built from that list and binds its values in the same order, so every
//! statement names its columns.

use std::sync::LazyLock;

use pacer_protocol::Stage;
use rusqlite::{params, CachedStatement, Connection, Row, ToSql};

/// A table and the columns a row type writes, in the order it binds them.
pub struct Columns {
    pub table: &'static str,
    pub names: &'static [&'static str],
}

impl Columns {
    /// `VERB INTO table (a, b, …) VALUES (?1, ?2, …)`
    fn insert(&self, verb: &str) -> String {
        let placeholders: Vec<String> = (1..=self.names.len()).map(|i| format!("?{i}")).collect();
        format!(
            "{verb} INTO {} ({}) VALUES ({})",
            self.table,
            self.names.join(", "),
            placeholders.join(", ")
        )
    }

    /// An insert that, when a row with the same `key` exists, sets the other columns instead.
    fn upsert(&self, key: &[&str]) -> String {
        let assignments: Vec<String> = self
            .names
            .iter()
            .filter(|name| !key.contains(name))
            .map(|name| format!("{name} = excluded.{name}"))
            .collect();
        format!(
            "{} ON CONFLICT ({}) DO UPDATE SET {}",
            self.insert("INSERT"),
            key.join(", "),
            assignments.join(", ")
        )
    }

    /// `UPDATE table SET b = ?2, … WHERE a = ?1`: the first column is the key.
    fn update_by_first(&self) -> String {
        let assignments: Vec<String> = self.names[1..]
            .iter()
            .enumerate()
            .map(|(i, name)| format!("{name} = ?{}", i + 2))
            .collect();
        format!(
            "UPDATE {} SET {} WHERE {} = ?1",
            self.table,
            assignments.join(", "),
            self.names[0]
        )
    }

    /// `SELECT a, b, … FROM table`
    pub fn select(&self) -> String {
        format!("SELECT {} FROM {}", self.names.join(", "), self.table)
    }
}

/// The statements of one transaction, each prepared when first needed and then reused for
/// every row of the batch: looking a statement up in the connection's cache (hashing its text)
/// and handing it back after every row cost about as much as binding the row.
pub(super) struct Statements<'c> {
    conn: &'c Connection,
    prepared: Vec<(&'static String, CachedStatement<'c>)>,
}

impl<'c> Statements<'c> {
    pub(super) fn new(conn: &'c Connection) -> Statements<'c> {
        Statements {
            conn,
            prepared: Vec::new(),
        }
    }

    fn get(&mut self, sql: &'static String) -> rusqlite::Result<&mut CachedStatement<'c>> {
        let found = self
            .prepared
            .iter()
            .position(|(s, _)| std::ptr::eq(*s, sql));
        let i = match found {
            Some(i) => i,
            None => {
                self.prepared.push((sql, self.conn.prepare_cached(sql)?));
                self.prepared.len() - 1
            }
        };
        Ok(&mut self.prepared[i].1)
    }
}

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

impl AppRow {
    pub const COLUMNS: Columns = Columns {
        table: "applications",
        names: &[
            "app_event_id",
            "application_id",
            "app_name",
            "algorithm_name",
            "algorithm_args",
            "is_adaptive",
            "is_training",
            "datasize_mb",
            "target_runtime_ms",
            "min_executors",
            "max_executors",
            "driver_specs",
            "executor_specs",
            "environment_specs",
            "policy",
            "start_ms",
            "initial_scale_out",
        ],
    };

    pub(super) fn insert(&self, s: &mut Statements) -> rusqlite::Result<()> {
        static SQL: LazyLock<String> =
            LazyLock::new(|| AppRow::COLUMNS.insert("INSERT OR REPLACE"));
        s.get(&SQL)?.execute(params![
            self.app_event_id,
            self.application_id,
            self.app_name,
            self.algorithm_name,
            serde_json::to_string(&self.algorithm_args).unwrap_or_default(),
            self.is_adaptive,
            self.is_training,
            self.datasize_mb,
            self.target_runtime_ms,
            self.min_executors,
            self.max_executors,
            self.driver_specs,
            self.executor_specs,
            self.environment_specs,
            self.policy,
            self.start_ms,
            self.initial_scale_out,
        ])?;
        Ok(())
    }

    /// Reads a row selected with `COLUMNS.select()`.
    pub(super) fn from_row(r: &Row) -> rusqlite::Result<AppRow> {
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
    }
}

/// How an application ended.
#[derive(Debug, Clone, PartialEq)]
pub struct AppEndRow {
    pub app_event_id: String,
    pub end_ms: i64,
    pub final_scale_out: i64,
}

impl AppEndRow {
    pub const COLUMNS: Columns = Columns {
        table: "applications",
        names: &["app_event_id", "end_ms", "final_scale_out"],
    };

    pub(super) fn update(&self, s: &mut Statements) -> rusqlite::Result<()> {
        static SQL: LazyLock<String> = LazyLock::new(|| AppEndRow::COLUMNS.update_by_first());
        s.get(&SQL)?.execute(params![
            self.app_event_id,
            self.end_ms,
            self.final_scale_out
        ])?;
        Ok(())
    }
}

/// A job's start; its end fills in the rest of the same row.
#[derive(Debug, Clone, PartialEq)]
pub struct JobStartRow {
    pub app_event_id: String,
    pub job_id: i64,
    pub start_ms: i64,
    pub scale_out: i64,
}

impl JobStartRow {
    pub const COLUMNS: Columns = Columns {
        table: "jobs",
        names: &["app_event_id", "job_id", "start_ms", "start_scale_out"],
    };

    pub(super) fn upsert(&self, s: &mut Statements) -> rusqlite::Result<()> {
        static SQL: LazyLock<String> = LazyLock::new(|| JobStartRow::COLUMNS.upsert(&JOB_KEY));
        s.get(&SQL)?.execute(params![
            self.app_event_id,
            self.job_id,
            self.start_ms,
            self.scale_out
        ])?;
        Ok(())
    }
}

const JOB_KEY: [&str; 2] = ["app_event_id", "job_id"];

/// A job's end, with the stages that ran for it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobEndRow {
    pub app_event_id: String,
    pub job_id: i64,
    pub end_ms: i64,
    pub scale_out: i64,
    pub rescaling_time_ratio: f64,
    /// The policy's predicted end of the run after this job (epoch ms), if it has one.
    pub predicted_end_ms: Option<i64>,
    pub stages: Vec<Stage>,
}

/// The columns a job's end writes, in the order [`JobEndRow::upsert`] binds them, then `$extra`.
macro_rules! job_end_names {
    ($($extra:literal),*) => {
        &[
            "app_event_id",
            "job_id",
            "end_ms",
            "end_scale_out",
            "rescaling_time_ratio",
            "predicted_end_ms",
            $($extra,)*
        ]
    };
}

impl JobEndRow {
    pub const COLUMNS: Columns = Columns {
        table: "jobs",
        names: job_end_names!(),
    };

    /// The stage records, one row per stage of the job.
    pub const STAGE_COLUMNS: Columns = Columns {
        table: "stages",
        names: &[
            "app_event_id",
            "job_id",
            "stage_id",
            "stage_name",
            "num_tasks",
            "parent_stage_ids",
            "attempt_id",
            "failure_reason",
            "start_time",
            "end_time",
            "start_scale_out",
            "end_scale_out",
            "rescaling_time_ratio",
            "rdd_num_partitions",
            "rdd_num_cached_partitions",
            "rdd_mem_size",
            "rdd_disk_size",
            "cpu_utilization",
            "gc_time_ratio",
            "shuffle_read_write_ratio",
            "input_output_ratio",
            "memory_spill_ratio",
        ],
    };

    /// The job's start and end together (both arrived in one batch): the same row as
    /// [`JobStartRow::upsert`] and then [`JobEndRow::upsert`] make, in one write.
    pub const WITH_START_COLUMNS: Columns = Columns {
        table: "jobs",
        names: job_end_names!("start_ms", "start_scale_out"),
    };

    pub(super) fn upsert(&self, s: &mut Statements) -> rusqlite::Result<()> {
        static SQL: LazyLock<String> = LazyLock::new(|| JobEndRow::COLUMNS.upsert(&JOB_KEY));
        self.write(s, &SQL, None)
    }

    /// [`JobEndRow::upsert`] with the job's start (of the same job) in the same write.
    pub(super) fn upsert_with_start(
        &self,
        s: &mut Statements,
        start: &JobStartRow,
    ) -> rusqlite::Result<()> {
        static SQL: LazyLock<String> =
            LazyLock::new(|| JobEndRow::WITH_START_COLUMNS.upsert(&JOB_KEY));
        debug_assert_eq!(
            (&start.app_event_id, start.job_id),
            (&self.app_event_id, self.job_id)
        );
        self.write(s, &SQL, Some(start))
    }

    /// Binds the job's end (and its start, if given) in `job_end_names!`'s order.
    fn write(
        &self,
        s: &mut Statements,
        sql: &'static String,
        start: Option<&JobStartRow>,
    ) -> rusqlite::Result<()> {
        let (start_ms, start_scale_out) = start.map(|j| (j.start_ms, j.scale_out)).unzip();
        let values: [&dyn ToSql; 8] = [
            &self.app_event_id,
            &self.job_id,
            &self.end_ms,
            &self.scale_out,
            &self.rescaling_time_ratio,
            &self.predicted_end_ms,
            &start_ms,
            &start_scale_out,
        ];
        let columns = match start {
            Some(_) => JobEndRow::WITH_START_COLUMNS,
            None => JobEndRow::COLUMNS,
        };
        let bound = columns.names.len();
        s.get(sql)?.execute(&values[..bound])?;
        self.insert_stages(s)
    }

    fn insert_stages(&self, s: &mut Statements) -> rusqlite::Result<()> {
        static STAGE_SQL: LazyLock<String> =
            LazyLock::new(|| JobEndRow::STAGE_COLUMNS.insert("INSERT OR REPLACE"));
        let insert = s.get(&STAGE_SQL)?;
        for s in &self.stages {
            let stage_id: i64 = s.stage_id.parse().unwrap_or(-1);
            insert.execute(params![
                self.app_event_id,
                self.job_id,
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
        Ok(())
    }
}

/// A scale-out the bridge recommended, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RecommendationRow {
    pub app_event_id: String,
    pub time_ms: i64,
    pub event_type: &'static str,
    pub job_id: Option<i64>,
    pub from: Option<u32>,
    pub to: u32,
    pub reason: String,
}

impl RecommendationRow {
    pub const COLUMNS: Columns = Columns {
        table: "recommendations",
        names: &[
            "app_event_id",
            "time_ms",
            "event_type",
            "job_id",
            "from_scale_out",
            "to_scale_out",
            "reason",
        ],
    };

    pub(super) fn insert(&self, s: &mut Statements) -> rusqlite::Result<()> {
        static SQL: LazyLock<String> =
            LazyLock::new(|| RecommendationRow::COLUMNS.insert("INSERT"));
        s.get(&SQL)?.execute(params![
            self.app_event_id,
            self.time_ms,
            self.event_type,
            self.job_id,
            self.from,
            self.to,
            self.reason
        ])?;
        Ok(())
    }
}

/// Every column list, for the check that the schema has them all.
#[cfg(test)]
pub(super) const ALL_COLUMNS: [&Columns; 7] = [
    &AppRow::COLUMNS,
    &AppEndRow::COLUMNS,
    &JobStartRow::COLUMNS,
    &JobEndRow::COLUMNS,
    &JobEndRow::WITH_START_COLUMNS,
    &JobEndRow::STAGE_COLUMNS,
    &RecommendationRow::COLUMNS,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_name_their_columns() {
        let columns = Columns {
            table: "t",
            names: &["k", "a", "b"],
        };
        assert_eq!(
            columns.insert("INSERT OR REPLACE"),
            "INSERT OR REPLACE INTO t (k, a, b) VALUES (?1, ?2, ?3)"
        );
        assert_eq!(
            columns.upsert(&["k"]),
            "INSERT INTO t (k, a, b) VALUES (?1, ?2, ?3) ON CONFLICT (k) DO UPDATE SET a = excluded.a, b = excluded.b"
        );
        assert_eq!(
            columns.update_by_first(),
            "UPDATE t SET a = ?2, b = ?3 WHERE k = ?1"
        );
        assert_eq!(columns.select(), "SELECT k, a, b FROM t");
    }
}
