//! The external pool from the driver's side (`reschedule.dst.executor` = `external` or
//! `burst`): a thread of its own that asks the dispatcher for the executors the controller
//! wants from the pool, stops the ones Spark was told to kill, and ends the application's
//! executors when it ends. Like the bridge client it never blocks Spark's threads, and a
//! dispatcher or registry that is away costs one warning, not the application.

mod book;
pub mod settings;

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use pacer_proxy::client::{ClientError, DispatcherClient};
use pacer_proxy::conf::Destination;
use pacer_proxy::wire::{Acquire, DispatcherReply, DispatcherRequest, Placement};

pub use book::{PoolBook, Work};
pub use settings::PoolSettings;

/// How long the dispatcher may take to answer (it asks workers, up to 3 s each).
const DISPATCHER_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause before asking again after the pool was unavailable.
const RETRY: Duration = Duration::from_secs(5);
/// At most one repeated warning about the pool this often.
const WARN_EVERY: Duration = Duration::from_secs(30);
/// How long the thread waits for work before it looks again (pending launches expire).
const IDLE: Duration = Duration::from_secs(1);

/// What the thread should do next.
pub enum Step {
    Work {
        app_id: String,
        work: Work,
    },
    /// The application ended or Pacer stopped: end its external executors and stop.
    End {
        app_id: Option<String>,
    },
    Idle,
}

/// The engine's side of the thread.
pub trait PoolHost: Send + Sync + 'static {
    /// Waits up to `timeout` for work; none while `may_exchange` is false (after a failure),
    /// except the end.
    fn next_step(&self, timeout: Duration, may_exchange: bool) -> Step;
    fn placed(&self, placements: &[Placement]);
    fn release_failed(&self, executor_ids: Vec<String>);
    /// Wakes `next_step`.
    fn wake(&self);
}

pub struct PoolThread {
    thread: Mutex<Option<JoinHandle<()>>>,
    deadline: Arc<Mutex<Option<Instant>>>,
    host: Arc<dyn PoolHost>,
}

impl PoolThread {
    pub fn start(settings: PoolSettings, host: Arc<dyn PoolHost>) -> std::io::Result<PoolThread> {
        let deadline = Arc::new(Mutex::new(None));
        let worker = PoolWorker {
            client: None,
            settings,
            host: host.clone(),
            deadline: deadline.clone(),
            retry_at: None,
            outage_since: None,
            last_warning: None,
            last_unplaced_warning: None,
        };
        let thread = std::thread::Builder::new()
            .name("pacer-pool-client".into())
            .spawn(move || worker.run())?;
        Ok(PoolThread {
            thread: Mutex::new(Some(thread)),
            deadline,
            host,
        })
    }

    /// Lets the thread end the application's executors for at most `grace`; returns the
    /// thread to [`PoolThread::join`] (None when already closed).
    pub fn begin_close(&self, grace: Duration) -> Option<JoinHandle<()>> {
        self.deadline.lock().get_or_insert(Instant::now() + grace);
        self.host.wake();
        self.thread.lock().take()
    }

    pub fn join(&self, thread: JoinHandle<()>) {
        if thread.join().is_err() {
            log::error!("external pool thread panicked");
        }
    }
}

struct PoolWorker {
    settings: PoolSettings,
    client: Option<DispatcherClient>,
    host: Arc<dyn PoolHost>,
    deadline: Arc<Mutex<Option<Instant>>>,
    retry_at: Option<Instant>,
    /// When the pool became unavailable, while it is.
    outage_since: Option<Instant>,
    last_warning: Option<Instant>,
    last_unplaced_warning: Option<Instant>,
}

impl PoolWorker {
    fn run(mut self) {
        log::info!(
            "external pool: reschedule.dst.executor={}, dispatcher {}",
            self.settings.destination.name(),
            self.settings
                .dispatcher_address
                .clone()
                .or_else(|| self
                    .settings
                    .redis
                    .as_ref()
                    .map(|r| format!("from registry {r}")))
                .unwrap_or_default()
        );
        loop {
            if self.past_deadline() {
                return;
            }
            let may_exchange = self.retry_at.is_none_or(|t| Instant::now() >= t);
            match self.host.next_step(IDLE, may_exchange) {
                Step::Idle => {}
                Step::Work { app_id, work } => self.work(&app_id, work),
                Step::End { app_id } => {
                    if let Some(app_id) = app_id {
                        self.end(&app_id);
                    }
                    return;
                }
            }
        }
    }

    fn past_deadline(&self) -> bool {
        self.deadline.lock().is_some_and(|d| Instant::now() >= d)
    }

    fn exchange(&mut self, request: &DispatcherRequest) -> Result<DispatcherReply, ClientError> {
        if self.client.is_none() {
            self.client = Some(DispatcherClient::new(
                self.settings.dispatcher_address.clone(),
                self.settings.redis.as_ref(),
                DISPATCHER_TIMEOUT,
            )?);
        }
        let deadline = self.deadline.clone();
        let abort = move || deadline.lock().is_some_and(|d| Instant::now() >= d);
        let client = self.client.as_mut().expect("created above");
        client.exchange(request, &abort)
    }

    fn work(&mut self, app_id: &str, work: Work) {
        if !work.release.is_empty() {
            let request = DispatcherRequest::Release {
                app_id: app_id.to_string(),
                executor_ids: work.release.clone(),
            };
            match self.exchange(&request) {
                Ok(_) => log::info!(
                    "external pool: stopping executors {}",
                    work.release.join(", ")
                ),
                Err(e) => {
                    self.unavailable(&e);
                    self.host.release_failed(work.release);
                    return;
                }
            }
        }
        if work.acquire == 0 {
            return;
        }
        let Some(driver_url) = self.settings.driver_url.clone() else {
            self.warn_repeatedly(
                "external pool: the driver's address is unknown (spark.driver.host and \
                 spark.driver.port are not set), so no external executor can be started"
                    .to_string(),
            );
            self.retry_at = Some(Instant::now() + WARN_EVERY);
            return;
        };
        let request = DispatcherRequest::Acquire(Acquire {
            app_id: app_id.to_string(),
            driver_url,
            spark_version: self.settings.spark_version.clone(),
            count: work.acquire,
            cores: self.settings.executor_cores,
            memory_mb: self.settings.executor_memory_mb,
            known_ids: work.known_ids,
        });
        match self.exchange(&request) {
            Ok(DispatcherReply::Placed {
                executors,
                unplaced,
                reason,
            }) => {
                self.available();
                if !executors.is_empty() {
                    let list: Vec<String> = executors
                        .iter()
                        .map(|p| format!("{} on {}", p.executor_id, p.host))
                        .collect();
                    log::info!("external pool: starting executors {}", list.join(", "));
                    self.host.placed(&executors);
                }
                if unplaced > 0 {
                    self.retry_at = Some(Instant::now() + RETRY);
                    let now = Instant::now();
                    if self
                        .last_unplaced_warning
                        .is_none_or(|t| now.duration_since(t) >= WARN_EVERY)
                    {
                        self.last_unplaced_warning = Some(now);
                        log::warn!(
                            "external pool has no room for {unplaced} more executors ({}); asking again",
                            reason.unwrap_or_default()
                        );
                    }
                } else {
                    self.retry_at = None;
                }
            }
            Ok(DispatcherReply::Error { message }) => {
                self.warn_repeatedly(format!("external pool refused the request: {message}"));
                self.retry_at = Some(Instant::now() + RETRY);
            }
            Ok(other) => {
                self.warn_repeatedly(format!("external pool answered {other:?} to an acquire"));
                self.retry_at = Some(Instant::now() + RETRY);
            }
            Err(e) => self.unavailable(&e),
        }
    }

    fn end(&mut self, app_id: &str) {
        if self.outage_since.is_some() {
            // Workers stop executors of a driver that is gone by themselves.
            return;
        }
        let request = DispatcherRequest::AppEnded {
            app_id: app_id.to_string(),
        };
        match self.exchange(&request) {
            Ok(_) => log::info!("external pool: application ended, its external executors stop"),
            Err(e) => log::warn!(
                "external pool: could not report the application's end ({e}); its workers stop \
                 the executors once the driver is gone"
            ),
        }
    }

    fn unavailable(&mut self, e: &ClientError) {
        self.retry_at = Some(Instant::now() + RETRY);
        let first = self.outage_since.is_none();
        self.outage_since.get_or_insert_with(Instant::now);
        // The next exchange looks the dispatcher up again.
        if !matches!(e, ClientError::BadReply(_)) {
            self.client = None;
        }
        match self.settings.destination {
            Destination::External => self.warn_repeatedly(format!(
                "external pool unavailable ({e}): with reschedule.dst.executor=external this \
                 application has no other executors and waits for the pool; \
                 reschedule.dst.executor=burst would run it on the cluster manager's executors \
                 meanwhile"
            )),
            _ if first => log::warn!(
                "external pool unavailable ({e}): running on the cluster manager's executors \
                 only; bursting once the pool is back"
            ),
            _ => {}
        }
    }

    fn available(&mut self) {
        if let Some(since) = self.outage_since.take() {
            log::info!(
                "external pool available again after {} s",
                since.elapsed().as_secs()
            );
        }
    }

    fn warn_repeatedly(&mut self, message: String) {
        let now = Instant::now();
        if self
            .last_warning
            .is_none_or(|t| now.duration_since(t) >= WARN_EVERY)
        {
            self.last_warning = Some(now);
            log::warn!("{message}");
        }
    }
}
