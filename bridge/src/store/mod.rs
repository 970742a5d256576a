//! Run history in SQLite (WAL): applications, jobs, stages with all metrics, and every
//! recommendation. Changes go through one writer thread that batches them into transactions,
//! so request handling never waits for the disk; reads use their own connections.
//!
//! # Layout
//! - `schema`: the versioned layout and its migrations.
//! - `rows`: what is written, each row type with its column list.
//! - `writer`: the writer thread and group commit.
//! - `queries`: the [`Reader`] and what it returns.

mod queries;
mod rows;
mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::Mutex;
use rusqlite::Connection;

pub use queries::{Reader, RunDecision, RunDetail, RunJob, RunningApp, TraceRow};
pub use rows::{AppEndRow, AppRow, JobEndRow, JobStartRow, RecommendationRow};
pub use schema::VERSION as SCHEMA_VERSION;
use writer::WriterState;
pub use writer::{Change, CommitObserver};

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
    sender: Mutex<Option<Sender<Change>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    state: Arc<WriterState>,
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
    /// Opens (creating or migrating if needed) the database and starts the writer thread.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_observed(path, None)
    }

    /// [`Store::open`] with `observer` called after every transaction.
    pub fn open_observed(
        path: &Path,
        observer: Option<CommitObserver>,
    ) -> Result<Store, StoreError> {
        let mut conn = open_connection(path)?;
        schema::migrate(&mut conn)?;
        let (sender, receiver) = mpsc::channel();
        let state = Arc::new(WriterState::default());
        let writer_state = state.clone();
        let writer = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer::write_loop(conn, receiver, writer_state, observer))
            .map_err(|e| StoreError(format!("cannot start the store writer: {e}")))?;
        Ok(Store {
            path: path.to_path_buf(),
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
            state,
        })
    }

    /// Queues a change for the writer thread; it is committed within a few milliseconds.
    pub fn write(&self, change: Change) {
        if let Some(sender) = self.sender.lock().as_ref() {
            self.state.pending.fetch_add(1, Ordering::Relaxed);
            if sender.send(change).is_err() {
                self.state.pending.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// Changes queued and not yet committed.
    pub fn pending(&self) -> usize {
        self.state.pending.load(Ordering::Relaxed)
    }

    /// The writer runs and its last transaction was committed.
    pub fn writable(&self) -> bool {
        let running = self
            .writer
            .lock()
            .as_ref()
            .is_some_and(|writer| !writer.is_finished());
        running
            && !self.state.stopped.load(Ordering::Relaxed)
            && !self.state.failing.load(Ordering::Relaxed)
    }

    /// Waits until every change sent before is committed.
    pub fn flush(&self) {
        let (ack, done) = mpsc::sync_channel(1);
        self.write(Change::Flush(ack));
        let _ = done.recv();
    }

    /// Opens a database that must already exist (for the commands that only read history).
    pub fn open_existing(path: &Path) -> Result<Store, StoreError> {
        if !path.exists() {
            return Err(StoreError(format!(
                "no history database at {}",
                path.display()
            )));
        }
        Store::open(path)
    }

    pub fn path(&self) -> &Path {
        &self.path
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

#[cfg(test)]
pub(crate) mod tests;
