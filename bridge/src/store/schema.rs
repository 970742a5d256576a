//! The database layout, versioned with SQLite's `user_version`. Each migration takes the
//! database from one version to the next and is frozen once released: a later layout is a new
//! migration, never an edit of an old one, so every database ever written still opens.

use rusqlite::Connection;

use super::StoreError;

/// Version 1: the layout of the first releases, which had no version number. Every statement
/// is `IF NOT EXISTS`, so a database from before versioning (`user_version` 0, tables present)
/// is taken to version 1 unchanged.
const V1: &str = r#"
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

/// Version 2: the policy's predicted end of the run after each job (shown by `serve --http`).
const V2: &str = "ALTER TABLE jobs ADD COLUMN predicted_end_ms INTEGER;";

/// `MIGRATIONS[i]` takes a database from version `i` to version `i + 1`.
const MIGRATIONS: &[&str] = &[V1, V2];

/// The version this build writes.
pub const VERSION: u32 = MIGRATIONS.len() as u32;

pub fn version(conn: &Connection) -> Result<u32, StoreError> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Brings the database to [`VERSION`], one migration per transaction.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found = version(conn)?;
    if found > VERSION {
        return Err(StoreError(format!(
            "the database has schema version {found}, written by a newer pacer-bridge; \
             this one reads versions up to {VERSION}"
        )));
    }
    for (from, migration) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(migration).map_err(|e| {
            StoreError(format!(
                "migrating the database from schema version {from} to {}: {e}",
                from + 1
            ))
        })?;
        tx.pragma_update(None, "user_version", from as u32 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
