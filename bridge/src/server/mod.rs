//! `pacer-bridge serve`: a ROUTER socket for many applications at once.
//!
//! The socket thread (`socket_loop`) does all socket work on one single-threaded runtime:
//! receives, decodes and routes. Planning a run (APPLICATION_START: history, model fitting)
//! always goes to worker threads, which handle one application at a time each and hand replies
//! back over a channel, so a slow plan never holds up the socket thread or other applications.
//! JOB_START and APPLICATION_END need no policy work and are answered on the socket thread; so
//! are JOB_END decisions when the policy declares them cheap (`Policy::cheap_decisions`), until
//! they turn out slow (see `Service::decisions_are_slow`); then they move to the workers for
//! good, so a mistaken claim holds up others a few times. An application with work in the
//! workers' hands has all its events queued behind it, so its order is kept.

mod connection;
mod dispatch;
mod history_cache;
mod service;
mod socket_loop;
pub mod wire;
mod zmtp;

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use pacer_protocol::{Codec, Event};

use crate::metrics::Metrics;
use crate::policy::Policy;
use crate::store::{Reader, Store, StoreError};
use dispatch::Dispatcher;
use service::Service;
use socket_loop::{Router, SocketLoop};
use wire::encode_reply;

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
    /// A thread or the runtime could not be started.
    Start(String),
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::Bind(e) => write!(f, "{e}"),
            ServeError::Store(e) => write!(f, "history store: {e}"),
            ServeError::Start(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ServeError {}

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

/// A request handed to a worker: the envelope the reply must carry back, and the event.
struct Request {
    /// The connection it came on.
    connection: u64,
    envelope: Vec<Bytes>,
    codec: Codec,
    event: Event,
}

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

    // One thread does all the socket work (accepting, reading, decoding, answering, writing):
    // no hand-off between an I/O thread and the thread that answers (see `zmtp`).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("bridge-socket")
        .build()
        .map_err(|e| ServeError::Start(format!("cannot start the socket runtime: {e}")))?;
    let address = tcp_address(&config.bind).map_err(ServeError::Bind)?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(&address))
        .map_err(|e| ServeError::Bind(format!("cannot bind {}: {e}", config.bind)))?;
    let endpoint = match listener.local_addr() {
        Ok(bound) => format!("tcp://{bound}"),
        Err(_) => config.bind.clone(),
    };
    let (reply_sender, replies) = tokio::sync::mpsc::unbounded_channel();

    let dispatcher: Arc<Dispatcher<Request>> = Arc::new(Dispatcher::default());
    let mut workers = Vec::new();
    for i in 0..config.workers.max(1) {
        let reader = store.reader().map_err(ServeError::Store)?;
        let (dispatcher, service, metrics, replies) = (
            dispatcher.clone(),
            service.clone(),
            metrics.clone(),
            reply_sender.clone(),
        );
        let worker = std::thread::Builder::new()
            .name(format!("bridge-worker-{i}"))
            .spawn(move || {
                while let Some((key, request)) = dispatcher.take() {
                    let reply = handle_timed(&service, &metrics, request.event, &reader);
                    let mut frames = request.envelope;
                    frames.push(encode_reply(request.codec, &reply).into());
                    let _ = replies.send((request.connection, frames));
                    dispatcher.done(&key);
                }
            })
            .map_err(|e| ServeError::Start(format!("cannot start a worker: {e}")))?;
        workers.push(worker);
    }
    drop(reply_sender);

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
    let router = Router {
        metrics: metrics.clone(),
        dispatcher: dispatcher.clone(),
        service: service.clone(),
        reader: store.reader().map_err(ServeError::Store)?,
        counters: counters.clone(),
        max_message_bytes: config.max_message_bytes,
        start_keys: 0,
        inline_decisions: config.policy.cheap_decisions(),
        stopping: false,
    };
    let loop_counters = counters.clone();
    let (loop_state, loop_stop) = (state.clone(), stop.clone());
    let max_message_bytes = config.max_message_bytes;
    let thread = std::thread::Builder::new()
        .name("bridge-socket".into())
        .spawn(move || {
            // Connections are tasks of this thread only: they share the router.
            let socket_loop = SocketLoop {
                state: loop_state,
                router: Rc::new(RefCell::new(router)),
                dispatcher,
                counters: loop_counters,
                metrics,
                max_message_bytes,
                stop: loop_stop,
                connections: Default::default(),
            };
            tokio::task::LocalSet::new()
                .block_on(&runtime, socket_loop.run(listener, replies, workers));
            store.close();
        })
        .map_err(|e| ServeError::Start(format!("cannot start the socket thread: {e}")))?;
    Ok(RunningServer {
        endpoint,
        stop,
        counters,
        service,
        state,
        thread: Some(thread),
    })
}

/// The `HOST:PORT` of a `tcp://HOST:PORT` endpoint, with ZeroMQ's wildcards: `*` as the port is
/// any free port, `*` as the host every interface.
fn tcp_address(endpoint: &str) -> Result<String, String> {
    let address = endpoint.strip_prefix("tcp://").ok_or_else(|| {
        format!("--bind {endpoint}: expected a tcp://HOST:PORT endpoint (the bridge serves ZeroMQ over TCP)")
    })?;
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| format!("--bind {endpoint}: expected tcp://HOST:PORT"))?;
    let host = if host == "*" { "0.0.0.0" } else { host };
    let port = if port == "*" { "0" } else { port };
    Ok(format!("{host}:{port}"))
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
