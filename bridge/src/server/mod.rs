//! `pacer-bridge serve`: a ROUTER socket for many applications at once.
//!
//! The socket thread receives, decodes and routes. Planning a run (APPLICATION_START: history,
//! model fitting) always goes to worker threads, which handle one application at a time each
//! and hand replies back over an inproc socket, so a slow plan never holds up the socket thread
//! or other applications. JOB_START and APPLICATION_END need no policy work and are answered on
//! the socket thread; so are JOB_END decisions when the policy declares them cheap
//! (`Policy::cheap_decisions`), until one takes more than 2 ms of CPU or 50 ms in all; then they
//! move to the workers for good, so a mistaken claim holds up others once. An application with work in
//! the workers' hands has all its events queued behind it, so its order is kept.

mod dispatch;
mod history_cache;
mod service;
pub mod wire;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pacer_protocol::{Codec, Event, EventType, ProtocolError};

use crate::metrics::Metrics;
use crate::policy::Policy;
use crate::store::{Reader, Store, StoreError};
use dispatch::Dispatcher;
use service::Service;
use wire::{decode, encode_reply, error_reply, Decoded};

/// How long shutdown waits for requests already received to be answered.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(100);
/// Messages taken from a socket per wake-up before looking at the other one.
const BURST: usize = 256;
const STATS_EVERY: Duration = Duration::from_secs(60);

pub struct ServerConfig {
    /// ZeroMQ endpoint to bind, e.g. `tcp://127.0.0.1:5555` (`tcp://127.0.0.1:*` picks a port).
    pub bind: String,
    pub db: PathBuf,
    pub policy: Arc<dyn Policy>,
    pub max_message_bytes: usize,
    pub workers: usize,
}

/// What the server has seen, for logs and tests.
#[derive(Debug, Default)]
pub struct Counters {
    pub received: AtomicU64,
    pub replied: AtomicU64,
    pub bad_messages: AtomicU64,
    pub answered_bad_messages: AtomicU64,
    pub unknown_app: AtomicU64,
    pub too_large: AtomicU64,
    pub by_type: [AtomicU64; 4],
}

impl Counters {
    pub fn summary(&self) -> String {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "received {}, replied {}, bad {} ({} answered with their own scale-out, {} too large), unknown app {}",
            load(&self.received),
            load(&self.replied),
            load(&self.bad_messages),
            load(&self.answered_bad_messages),
            load(&self.too_large),
            load(&self.unknown_app)
        )
    }
}

#[derive(Debug)]
pub enum ServeError {
    Bind(String),
    Store(StoreError),
    Zmq(String),
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::Bind(e) => write!(f, "{e}"),
            ServeError::Store(e) => write!(f, "history store: {e}"),
            ServeError::Zmq(e) => write!(f, "ZeroMQ: {e}"),
        }
    }
}

impl std::error::Error for ServeError {}

impl From<zmq::Error> for ServeError {
    fn from(e: zmq::Error) -> Self {
        ServeError::Zmq(e.to_string())
    }
}

/// A running server; `stop` (or the stop flag) shuts it down cleanly.
pub struct RunningServer {
    endpoint: String,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    service: Arc<Service>,
    state: Arc<ServerState>,
    thread: Option<JoinHandle<()>>,
}

/// What the operational endpoints (`serve --http`) read while the server runs.
pub struct ServerState {
    pub metrics: Arc<Metrics>,
    store: Arc<Store>,
    service: Arc<Service>,
    serving: AtomicBool,
    policy: String,
}

impl ServerState {
    /// Metrics in Prometheus' text format.
    pub fn metrics_text(&self) -> String {
        self.metrics
            .render(self.service.live_runs(), self.store.pending())
    }

    /// The socket is bound and served, and the history store accepts writes.
    pub fn ready(&self) -> Result<(), String> {
        if !self.serving.load(Ordering::Relaxed) {
            return Err("the socket is not served".into());
        }
        if !self.store.writable() {
            return Err("the history store does not accept writes".into());
        }
        Ok(())
    }

    /// The policy's `--policy` name.
    pub fn policy(&self) -> &str {
        &self.policy
    }

    /// A connection for reading the history.
    pub fn reader(&self) -> Result<Reader, StoreError> {
        self.store.reader()
    }
}

impl RunningServer {
    /// The bound endpoint, with the port resolved.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// For the operational endpoints.
    pub fn state(&self) -> Arc<ServerState> {
        self.state.clone()
    }

    pub fn live_runs(&self) -> usize {
        self.service.live_runs()
    }

    pub fn cached_applications(&self) -> usize {
        self.service.cached_applications()
    }

    /// The flag that stops the server (for signal handlers).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// Blocks until the server has stopped (after the stop flag was set).
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Serves until SIGINT or SIGTERM, then answers what was received, commits the history and
    /// returns.
    pub fn serve_until_signalled(self) -> Result<(), String> {
        let stop = self.stop_flag();
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register(signal, stop.clone())
                .map_err(|e| format!("cannot handle signals: {e}"))?;
        }
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
        }
        log::info!("signal received: shutting down");
        self.wait();
        Ok(())
    }

    /// Answers what was received, commits the history, stops.
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wait();
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Request {
    envelope: Vec<Vec<u8>>,
    codec: Codec,
    event: Event,
}

static INSTANCE: AtomicU64 = AtomicU64::new(0);

pub fn start(config: ServerConfig) -> Result<RunningServer, ServeError> {
    let metrics = Arc::new(Metrics::new(&config.policy.name()));
    let observer = {
        let metrics = metrics.clone();
        Box::new(move |changes, took| metrics.store_committed(changes, took))
    };
    let store =
        Arc::new(Store::open_observed(&config.db, Some(observer)).map_err(ServeError::Store)?);
    let first_id = store
        .reader()
        .and_then(|r| r.max_app_event_id())
        .map_err(ServeError::Store)?
        + 1;
    let counters = Arc::new(Counters::default());
    let service = Arc::new(Service::new(
        config.policy.clone(),
        store.clone(),
        first_id,
        counters.clone(),
        metrics.clone(),
    ));

    let context = zmq::Context::new();
    let router = context.socket(zmq::ROUTER)?;
    // Replies already queued get a moment to leave at shutdown.
    router.set_linger(1_000)?;
    // Far beyond the answered limit: the connection is dropped rather than memory exhausted.
    router.set_maxmsgsize(
        (config.max_message_bytes.saturating_mul(16)).min(i64::MAX as usize) as i64,
    )?;
    router
        .bind(&config.bind)
        .map_err(|e| ServeError::Bind(format!("cannot bind {}: {e}", config.bind)))?;
    let endpoint = router
        .get_last_endpoint()?
        .unwrap_or_else(|_| config.bind.clone());
    let replies_endpoint = format!(
        "inproc://pacer-replies-{}",
        INSTANCE.fetch_add(1, Ordering::Relaxed)
    );
    let replies = context.socket(zmq::PULL)?;
    replies.bind(&replies_endpoint)?;

    let dispatcher: Arc<Dispatcher<Request>> = Arc::new(Dispatcher::default());
    let mut workers = Vec::new();
    for i in 0..config.workers.max(1) {
        let reader = store.reader().map_err(ServeError::Store)?;
        let push = context.socket(zmq::PUSH)?;
        push.connect(&replies_endpoint)?;
        let (dispatcher, service, counters, metrics) = (
            dispatcher.clone(),
            service.clone(),
            counters.clone(),
            metrics.clone(),
        );
        let worker = std::thread::Builder::new()
            .name(format!("bridge-worker-{i}"))
            .spawn(move || {
                while let Some((key, request)) = dispatcher.take() {
                    let codec = request.codec;
                    let reply = handle_timed(&service, &metrics, request.event, &reader);
                    let mut frames = request.envelope;
                    frames.push(encode_reply(codec, &reply));
                    if push.send_multipart(frames, 0).is_ok() {
                        counters.replied.fetch_add(1, Ordering::Relaxed);
                        metrics.reply();
                    }
                    dispatcher.done(&key);
                }
            })
            .map_err(|e| ServeError::Zmq(format!("cannot start a worker: {e}")))?;
        workers.push(worker);
    }

    log::info!(
        "serving on {endpoint} with policy {}, history in {}, {} workers",
        config.policy.name(),
        config.db.display(),
        workers.len()
    );
    let stop = Arc::new(AtomicBool::new(false));
    let state = Arc::new(ServerState {
        metrics: metrics.clone(),
        store: store.clone(),
        service: service.clone(),
        serving: AtomicBool::new(true),
        policy: config.policy.name(),
    });
    let socket_loop = SocketLoop {
        metrics,
        state: state.clone(),
        router,
        replies,
        dispatcher,
        service: service.clone(),
        reader: store.reader().map_err(ServeError::Store)?,
        counters: counters.clone(),
        max_message_bytes: config.max_message_bytes,
        stop: stop.clone(),
        start_keys: 0,
        inline_decisions: config.policy.cheap_decisions(),
    };
    let thread = std::thread::Builder::new()
        .name("bridge-socket".into())
        .spawn(move || {
            socket_loop.run(workers);
            store.close();
            drop(context);
        })
        .map_err(|e| ServeError::Zmq(format!("cannot start the socket thread: {e}")))?;
    Ok(RunningServer {
        endpoint,
        stop,
        counters,
        service,
        state,
        thread: Some(thread),
    })
}

/// Handles one event and records how long it took.
fn handle_timed(
    service: &Service,
    metrics: &Metrics,
    event: Event,
    reader: &Reader,
) -> pacer_protocol::Reply {
    let kind = event.event_type();
    let started = Instant::now();
    let reply = service.handle(event, reader);
    metrics.decision(kind, started.elapsed());
    reply
}

struct SocketLoop {
    metrics: Arc<Metrics>,
    state: Arc<ServerState>,
    router: zmq::Socket,
    replies: zmq::Socket,
    dispatcher: Arc<Dispatcher<Request>>,
    service: Arc<Service>,
    reader: crate::store::Reader,
    counters: Arc<Counters>,
    max_message_bytes: usize,
    stop: Arc<AtomicBool>,
    start_keys: u64,
    /// JOB_END decisions run on the socket thread (see `Policy::cheap_decisions`).
    inline_decisions: bool,
}

impl SocketLoop {
    fn run(mut self, workers: Vec<JoinHandle<()>>) {
        let mut last_stats = Instant::now();
        while !self.stop.load(Ordering::SeqCst) {
            let mut items = [
                self.router.as_poll_item(zmq::POLLIN),
                self.replies.as_poll_item(zmq::POLLIN),
            ];
            if let Err(e) = zmq::poll(&mut items, POLL.as_millis() as i64) {
                if e != zmq::Error::EINTR {
                    log::error!("poll failed: {e}");
                }
                continue;
            }
            let (requests_ready, replies_ready) = (items[0].is_readable(), items[1].is_readable());
            if replies_ready {
                self.forward_replies();
            }
            if requests_ready {
                self.take_requests();
            }
            if last_stats.elapsed() >= STATS_EVERY {
                log::info!("{}", self.counters.summary());
                last_stats = Instant::now();
            }
        }
        // Clean shutdown: answer everything already received, then stop the workers.
        log::info!(
            "stopping: answering {} requests in progress",
            self.dispatcher.in_flight()
        );
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        while self.dispatcher.in_flight() > 0 && Instant::now() < deadline {
            self.dispatcher.wait_idle(Duration::from_millis(20));
            self.forward_replies();
        }
        self.dispatcher.close();
        for worker in workers {
            let _ = worker.join();
        }
        self.forward_replies();
        self.state.serving.store(false, Ordering::Relaxed);
        log::info!("stopped; {}", self.counters.summary());
    }

    /// Answers on the socket thread.
    fn handle_inline(&mut self, mut frames: Vec<Vec<u8>>, codec: Codec, event: Event) {
        let reply = handle_timed(&self.service, &self.metrics, event, &self.reader);
        frames.push(encode_reply(codec, &reply));
        if self.router.send_multipart(frames, zmq::DONTWAIT).is_ok() {
            self.counters.replied.fetch_add(1, Ordering::Relaxed);
            self.metrics.reply();
        }
    }

    fn forward_replies(&self) {
        while let Ok(frames) = self.replies.recv_multipart(zmq::DONTWAIT) {
            if let Err(e) = self.router.send_multipart(frames, zmq::DONTWAIT) {
                log::debug!("a reply could not be sent (client gone?): {e}");
            }
        }
    }

    fn take_requests(&mut self) {
        for _ in 0..BURST {
            match self.router.recv_multipart(zmq::DONTWAIT) {
                Ok(frames) => self.route(frames),
                Err(zmq::Error::EAGAIN) => return,
                Err(e) => {
                    log::warn!("receive failed: {e}");
                    return;
                }
            }
        }
    }

    fn route(&mut self, mut frames: Vec<Vec<u8>>) {
        self.counters.received.fetch_add(1, Ordering::Relaxed);
        // [identity, (empty delimiter from REQ peers,) body]: everything before the body is
        // the envelope the reply must carry back.
        let body = frames.pop().unwrap_or_default();
        if frames.is_empty() {
            return;
        }
        match decode(&body, self.max_message_bytes) {
            Decoded::Event(codec, event) => {
                let kind = event.event_type();
                self.counters.by_type[kind as usize].fetch_add(1, Ordering::Relaxed);
                self.metrics.message(kind, codec);
                let key = match event.app_event_id() {
                    Some(id) => id.to_string(),
                    None => {
                        self.start_keys += 1;
                        format!(
                            "{}#{}",
                            EventType::ApplicationStart.wire_name(),
                            self.start_keys
                        )
                    }
                };
                let on_worker = match event {
                    Event::ApplicationStart(_) => true,
                    Event::JobEnd(_) => !self.inline_decisions || self.service.decisions_are_slow(),
                    _ => false,
                };
                if !on_worker && self.dispatcher.is_idle(&key) {
                    self.handle_inline(frames, codec, event);
                    return;
                }
                self.dispatcher.push(
                    key,
                    Request {
                        envelope: frames,
                        codec,
                        event,
                    },
                );
            }
            Decoded::Bad {
                codec,
                problem,
                fallback,
            } => {
                let n = self.counters.bad_messages.fetch_add(1, Ordering::Relaxed);
                self.metrics.decode_error(problem.kind());
                if matches!(problem, ProtocolError::TooLarge { .. }) {
                    self.counters.too_large.fetch_add(1, Ordering::Relaxed);
                }
                if n < 10 || n.is_power_of_two() {
                    log::warn!(
                        "bad message ({}; {} so far): {problem}",
                        problem.kind(),
                        n + 1
                    );
                }
                let reply = match &fallback {
                    Some(reply) => {
                        self.counters
                            .answered_bad_messages
                            .fetch_add(1, Ordering::Relaxed);
                        reply.clone()
                    }
                    None => error_reply(codec, &problem),
                };
                frames.push(reply);
                let _ = self.router.send_multipart(frames, zmq::DONTWAIT);
                self.counters.replied.fetch_add(1, Ordering::Relaxed);
                self.metrics.reply();
            }
        }
    }
}
