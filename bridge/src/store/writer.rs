//! The writer thread: applies [`Change`]s in order, batching the ones that arrive together into
//! one transaction (group commit), so request handling never waits for the disk.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::rows::{AppEndRow, AppRow, JobEndRow, JobStartRow, RecommendationRow, Statements};

/// Changes applied per transaction at most, so a burst does not hold the write lock long.
const BATCH: usize = 5_000;
/// Changes arriving within this time of the first one share its transaction (group commit):
/// far fewer commits under load, at the price of this much delay before data is durable.
const GROUP_COMMIT: Duration = Duration::from_millis(20);

/// A change to the history, applied in order by the writer thread.
#[derive(Debug)]
pub enum Change {
    AppStarted(Box<AppRow>),
    JobStarted(JobStartRow),
    JobEnded(JobEndRow),
    Recommended(RecommendationRow),
    AppEnded(AppEndRow),
    /// Answered once every change sent before it is committed.
    Flush(SyncSender<()>),
}

/// Called after every transaction with the number of changes it held and how long it took.
pub type CommitObserver = Box<dyn Fn(usize, Duration) + Send + 'static>;

/// The writer's state as others see it: what waits for it, and whether its last transaction
/// failed.
#[derive(Debug, Default)]
pub struct WriterState {
    pub(super) pending: AtomicUsize,
    pub(super) failing: AtomicBool,
    pub(super) stopped: AtomicBool,
}

pub(super) fn write_loop(
    mut conn: Connection,
    receiver: Receiver<Change>,
    state: Arc<WriterState>,
    observer: Option<CommitObserver>,
) {
    lower_thread_priority();
    while let Ok(first) = receiver.recv() {
        // Sleep out the group-commit window, then take what arrived: waiting on the channel
        // instead would wake this thread (and cost the sender a futex wake) for every change.
        let flush_now = matches!(first, Change::Flush(_));
        if !flush_now {
            std::thread::sleep(GROUP_COMMIT);
        }
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match receiver.try_recv() {
                Ok(change) => batch.push(change),
                Err(_) => break,
            }
        }
        let changes = batch.len();
        let started = Instant::now();
        let mut acks = Vec::new();
        let outcome = apply(&mut conn, batch, &mut acks);
        if let Err(e) = &outcome {
            log::error!("history store: a batch of writes failed and was rolled back: {e}");
        }
        state.failing.store(outcome.is_err(), Ordering::Relaxed);
        state.pending.fetch_sub(changes, Ordering::Relaxed);
        if let Some(observe) = &observer {
            observe(changes, started.elapsed());
        }
        for ack in acks {
            let _ = ack.send(());
        }
    }
    state.stopped.store(true, Ordering::Relaxed);
}

fn apply(
    conn: &mut Connection,
    batch: Vec<Change>,
    acks: &mut Vec<SyncSender<()>>,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut statements = Statements::new(&tx);
        let s = &mut statements;
        // A job's start waits for its end in the same batch, so that the two make one row
        // write instead of an insert and an update. Only JobStarted and JobEnded touch a jobs
        // row, and each sets its own columns, so the row comes out the same: the last start's
        // columns and the last end's.
        let mut starts: HashMap<(String, i64), JobStartRow> = HashMap::new();
        for change in batch {
            match change {
                Change::AppStarted(app) => app.insert(s)?,
                Change::JobStarted(job) => {
                    starts.insert((job.app_event_id.clone(), job.job_id), job);
                }
                Change::JobEnded(job) => {
                    match starts.remove(&(job.app_event_id.clone(), job.job_id)) {
                        Some(start) => job.upsert_with_start(s, &start)?,
                        None => job.upsert(s)?,
                    }
                }
                Change::Recommended(recommendation) => recommendation.insert(s)?,
                Change::AppEnded(end) => end.update(s)?,
                Change::Flush(ack) => acks.push(ack),
            }
        }
        for start in starts.into_values() {
            start.upsert(s)?;
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
