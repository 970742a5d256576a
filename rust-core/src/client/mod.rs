//! The bridge client: a dedicated thread owns the ZeroMQ socket; callers only enqueue.
//!
//! Requests are strictly in turn (REQ semantics). A reply that does not come within the reply
//! timeout is given up (the event falls back to "no change") and the socket is replaced. An
//! unanswered APPLICATION_START is retried until the bridge answers, so an application that
//! started while the bridge was down is registered when it comes up; events after it wait in
//! the bounded queue meanwhile.

mod queue;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use pacer_protocol::{Codec, Event, EventType, ProtocolError, Reply};

use pacer_protocol::transport::{Connection, Exchange};
pub use queue::{OutboundQueue, Popped, Pushed};

/// Pause before retrying APPLICATION_START after a failure that returned at once.
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// At shutdown, how long an exchange with a bridge known to be silent may take before it is
/// given up, instead of the whole shutdown grace: long enough for a bridge that has come back
/// to take APPLICATION_END, short enough not to hold up the end of the application.
const SILENT_SHUTDOWN_PROBE: Duration = Duration::from_millis(250);

#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub address: String,
    pub codec: Codec,
    pub response_timeout: Duration,
    pub queue_capacity: usize,
}

/// How one event's exchange ended.
#[derive(Debug)]
pub enum Outcome {
    Reply(Reply),
    /// No reply within the timeout; the socket was replaced.
    TimedOut,
    /// A reply came but could not be decoded.
    Garbage(ProtocolError),
    /// Not sent: the application was never registered with the bridge.
    Unregistered,
}

/// Receives every event's outcome on the client thread.
pub type OutcomeHandler = Box<dyn Fn(&Event, Outcome) + Send + 'static>;

/// Counters of the client's work, readable from any thread.
#[derive(Debug, Default)]
pub struct ClientCounters {
    pub enqueued: AtomicU64,
    pub dropped: AtomicU64,
    pub sent: AtomicU64,
    pub replies: AtomicU64,
    pub timeouts: AtomicU64,
    pub garbage_replies: AtomicU64,
    pub failures: AtomicU64,
    pub unregistered: AtomicU64,
}

pub struct Client {
    queue: Arc<OutboundQueue>,
    counters: Arc<ClientCounters>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Client {
    pub fn start(settings: ClientSettings, on_outcome: OutcomeHandler) -> std::io::Result<Client> {
        let queue = Arc::new(OutboundQueue::new(settings.queue_capacity));
        let counters = Arc::new(ClientCounters::default());
        let worker = Worker {
            queue: queue.clone(),
            counters: counters.clone(),
            connection: Connection::new(&settings.address),
            settings,
            on_outcome,
            app_event_id: None,
            outage: false,
        };
        let thread = std::thread::Builder::new()
            .name("pacer-bridge-client".into())
            .spawn(move || worker.run())?;
        Ok(Client {
            queue,
            counters,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Never blocks on I/O: the event is queued for the client thread.
    pub fn send(&self, event: Event) {
        match self.queue.push(event) {
            Pushed::Queued => {
                self.counters.enqueued.fetch_add(1, Ordering::Relaxed);
            }
            Pushed::QueuedDropping(dropped) => {
                self.counters.enqueued.fetch_add(1, Ordering::Relaxed);
                let total = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if total.is_power_of_two() {
                    log::warn!(
                        "bridge queue full: dropped the oldest {} ({total} events dropped so far)",
                        dropped.wire_name()
                    );
                }
            }
            Pushed::Refused => {}
        }
    }

    pub fn counters(&self) -> &ClientCounters {
        &self.counters
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Stops accepting events, lets the thread send what is queued until `grace` has passed,
    /// then stops it. Idempotent.
    pub fn close(&self, grace: Duration) {
        self.queue.close(Instant::now() + grace);
        let thread = self.thread.lock().take();
        if let Some(thread) = thread {
            if thread.join().is_err() {
                log::error!("bridge client thread panicked");
            }
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.close(Duration::ZERO);
    }
}

struct Worker {
    queue: Arc<OutboundQueue>,
    counters: Arc<ClientCounters>,
    connection: Connection,
    settings: ClientSettings,
    on_outcome: OutcomeHandler,
    app_event_id: Option<String>,
    /// The bridge is not answering; logged once until it answers again.
    outage: bool,
}

enum Next {
    Done,
    Retry,
    Stop,
}

impl Worker {
    fn run(mut self) {
        loop {
            let mut event = match self.queue.pop(Duration::from_secs(1)) {
                Popped::Event(event) => event,
                Popped::Idle => continue,
                Popped::Finished => return,
            };
            if event.event_type() != EventType::ApplicationStart {
                match &self.app_event_id {
                    Some(id) => event.set_app_event_id(id),
                    None => {
                        let n = self.counters.unregistered.fetch_add(1, Ordering::Relaxed);
                        if n == 0 {
                            log::warn!(
                                "{} not sent: the application is not registered with the bridge",
                                event.event_type().wire_name()
                            );
                        }
                        (self.on_outcome)(&event, Outcome::Unregistered);
                        continue;
                    }
                }
            }
            let request = match self.settings.codec.encode_event(&event) {
                Ok(bytes) => bytes,
                Err(e) => {
                    log::error!("{} not sent: {e}", event.event_type().wire_name());
                    continue;
                }
            };
            loop {
                match self.exchange(&event, &request) {
                    Next::Done => break,
                    Next::Retry => continue,
                    Next::Stop => return,
                }
            }
        }
    }

    fn exchange(&mut self, event: &Event, request: &[u8]) -> Next {
        let kind = event.event_type();
        let registering = kind == EventType::ApplicationStart;
        let queue = self.queue.clone();
        let silent = self.outage;
        let started = Instant::now();
        let abort = move || {
            queue.must_stop()
                || (silent && queue.is_closing() && started.elapsed() >= SILENT_SHUTDOWN_PROBE)
        };
        self.counters.sent.fetch_add(1, Ordering::Relaxed);
        match self
            .connection
            .exchange(request, self.settings.response_timeout, &abort)
        {
            Exchange::Reply(bytes) => {
                self.bridge_answered();
                match self.settings.codec.decode_reply(&bytes) {
                    Ok(reply) => {
                        self.counters.replies.fetch_add(1, Ordering::Relaxed);
                        if registering {
                            log::info!(
                                "registered with the bridge at {} as app_event_id {}",
                                self.settings.address,
                                reply.app_event_id
                            );
                            self.app_event_id = Some(reply.app_event_id.clone());
                        }
                        (self.on_outcome)(event, Outcome::Reply(reply));
                        Next::Done
                    }
                    Err(e) => {
                        self.counters
                            .garbage_replies
                            .fetch_add(1, Ordering::Relaxed);
                        log::warn!(
                            "unusable reply from the bridge to {}: {e}; keeping the current scale-out",
                            kind.wire_name()
                        );
                        (self.on_outcome)(event, Outcome::Garbage(e));
                        self.retry_registration(registering, started)
                    }
                }
            }
            Exchange::TimedOut => {
                self.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                self.bridge_silent(kind, registering);
                (self.on_outcome)(event, Outcome::TimedOut);
                self.retry_registration(registering, started)
            }
            Exchange::Failed(reason) => {
                self.counters.failures.fetch_add(1, Ordering::Relaxed);
                if !self.outage {
                    log::warn!("{reason}; the application runs unscaled until the bridge answers");
                    self.outage = true;
                }
                self.retry_registration(registering, started)
            }
            Exchange::Aborted => {
                if !self.queue.must_stop() {
                    log::info!(
                        "bridge {} still silent at shutdown: not waiting for it",
                        self.settings.address
                    );
                }
                Next::Stop
            }
        }
    }

    /// APPLICATION_START is retried until the bridge answers; other events are given up.
    fn retry_registration(&self, registering: bool, started: Instant) -> Next {
        if !registering {
            return Next::Done;
        }
        // Pause so a bridge that fails at once is not hammered; a timed-out try waited already.
        let pause_until = started + RETRY_PAUSE;
        while Instant::now() < pause_until {
            if self.queue.must_stop() {
                return Next::Stop;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if self.queue.is_closing() {
            // The application ended before it could be registered: nothing else can be sent.
            return Next::Stop;
        }
        Next::Retry
    }

    fn bridge_silent(&mut self, kind: EventType, registering: bool) {
        if self.outage {
            log::debug!("bridge still silent ({})", kind.wire_name());
            return;
        }
        self.outage = true;
        let timeout_ms = self.settings.response_timeout.as_millis();
        if registering {
            log::warn!(
                "bridge {} did not answer APPLICATION_START within {timeout_ms} ms; \
                 the application runs unscaled and registration is retried until the bridge answers",
                self.settings.address
            );
        } else {
            log::warn!(
                "bridge {} did not answer {} within {timeout_ms} ms; keeping the current scale-out",
                self.settings.address,
                kind.wire_name()
            );
        }
    }

    fn bridge_answered(&mut self) {
        if self.outage {
            self.outage = false;
            log::info!("bridge {} is answering again", self.settings.address);
        }
    }
}
