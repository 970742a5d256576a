//! The socket thread: accepts connections, receives, decodes and routes every message, answers
//! what needs no worker, and sends the workers' replies, all on one single-threaded runtime.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use pacer_protocol::{Event, EventType, ProtocolError};
use tokio::net::TcpListener;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use super::connection;
use super::dispatch::Dispatcher;
use super::service::Service;
use super::wire::{decode, encode_reply, error_reply, Decoded};
use super::zmtp;
use super::{handle_timed, Counters, Request, ServerState};
use crate::metrics::Metrics;

/// How long shutdown waits for requests already received to be answered.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the stop flag is looked at.
const STOP_CHECK: Duration = Duration::from_millis(100);
/// After the last reply at shutdown: time for the connections to write what is queued.
const LINGER: Duration = Duration::from_millis(200);
/// A message declaring more than this many times `--max-message-bytes` closes its connection
/// before it is read (smaller ones above the limit are answered with an error).
const HARD_LIMIT_FACTOR: u64 = 16;
const STATS_EVERY: Duration = Duration::from_secs(60);

/// What the connections share on the socket thread: decoding and routing every message, and
/// answering what needs no worker straight into the connection's write buffer (no hand-off
/// between tasks for those: one wake-up reads, answers and writes).
pub(super) struct Router {
    pub metrics: Arc<Metrics>,
    pub dispatcher: Arc<Dispatcher<Request>>,
    pub service: Arc<Service>,
    pub reader: crate::store::Reader,
    pub counters: Arc<Counters>,
    pub max_message_bytes: usize,
    pub start_keys: u64,
    /// JOB_END decisions run on the socket thread (see `Policy::cheap_decisions`).
    pub inline_decisions: bool,
    /// Shutting down: messages received from now on are not handled (nor answered).
    pub stopping: bool,
}

/// The router as the socket thread's tasks share it (one thread: never borrowed across an
/// await).
pub(super) type SharedRouter = Rc<RefCell<Router>>;

pub(super) struct SocketLoop {
    pub state: Arc<ServerState>,
    pub router: SharedRouter,
    pub dispatcher: Arc<Dispatcher<Request>>,
    pub counters: Arc<Counters>,
    pub metrics: Arc<Metrics>,
    pub max_message_bytes: usize,
    pub stop: Arc<AtomicBool>,
    /// Each connection's queue of replies from the workers, by connection id.
    pub connections: HashMap<u64, UnboundedSender<Vec<u8>>>,
}

impl SocketLoop {
    pub async fn run(
        mut self,
        listener: TcpListener,
        mut replies: UnboundedReceiver<(u64, Vec<Bytes>)>,
        workers: Vec<JoinHandle<()>>,
    ) {
        let (closed_sender, mut closed) = unbounded_channel();
        let hard_limit = (self.max_message_bytes as u64).saturating_mul(HARD_LIMIT_FACTOR);
        let mut next_connection = 0u64;
        let mut stop_check = tokio::time::interval(STOP_CHECK);
        let mut last_stats = Instant::now();
        while !self.stop.load(Ordering::SeqCst) {
            tokio::select! {
                biased;
                Some((id, frames)) = replies.recv() => self.send(id, frames),
                Some(id) = closed.recv() => {
                    self.connections.remove(&id);
                },
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        next_connection += 1;
                        let (outbound_sender, outbound) = unbounded_channel();
                        self.connections.insert(next_connection, outbound_sender);
                        tokio::task::spawn_local(connection::serve(
                            stream,
                            next_connection,
                            hard_limit,
                            self.router.clone(),
                            closed_sender.clone(),
                            outbound,
                        ));
                    }
                    Err(e) => {
                        log::warn!("cannot accept a connection: {e}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                },
                _ = stop_check.tick() => {
                    if last_stats.elapsed() >= STATS_EVERY {
                        log::info!("{}", self.counters.summary());
                        last_stats = Instant::now();
                    }
                }
            }
        }
        // Clean shutdown: answer everything already received, then stop the workers.
        self.router.borrow_mut().stopping = true;
        log::info!(
            "stopping: answering {} requests in progress",
            self.dispatcher.in_flight()
        );
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        while self.dispatcher.in_flight() > 0 && Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_millis(20), replies.recv()).await {
                Ok(Some((id, frames))) => self.send(id, frames),
                Ok(None) => break,
                Err(_) => {}
            }
        }
        self.dispatcher.close();
        for worker in workers {
            let _ = worker.join();
        }
        while let Ok((id, frames)) = replies.try_recv() {
            self.send(id, frames);
        }
        tokio::time::sleep(LINGER).await;
        self.state.serving.store(false, Ordering::Relaxed);
        log::info!("stopped; {}", self.counters.summary());
    }

    /// Sends a worker's reply, `[envelope..., body]`, to connection `id`, if it is still there.
    fn send(&mut self, id: u64, frames: Vec<Bytes>) {
        let Some(connection) = self.connections.get(&id) else {
            log::debug!("a reply could not be sent: its client is gone");
            return;
        };
        let mut bytes = Vec::with_capacity(frames.iter().map(|f| f.len() + 9).sum());
        zmtp::encode_message(&frames, &mut bytes);
        if connection.send(bytes).is_ok() {
            self.counters.replied.fetch_add(1, Ordering::Relaxed);
            self.metrics.reply();
        } else {
            self.connections.remove(&id);
        }
    }
}

impl Router {
    /// Handles a message of connection `id`: `frames` are `[(empty delimiter from REQ peers,)
    /// body]`. An answer given now is appended, encoded, to `out`; the rest goes to the workers,
    /// whose replies come back through the socket loop.
    pub fn route(&mut self, id: u64, mut frames: Vec<Bytes>, out: &mut Vec<u8>) {
        if self.stopping {
            return;
        }
        self.counters.received.fetch_add(1, Ordering::Relaxed);
        // Everything before the body is the envelope the reply must carry back.
        let Some(body) = frames.pop() else {
            return;
        };
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
                    let reply = handle_timed(&self.service, &self.metrics, event, &self.reader);
                    self.answer(&frames, &encode_reply(codec, &reply), out);
                    return;
                }
                self.dispatcher.push(
                    key,
                    Request {
                        connection: id,
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
                let reply = match fallback {
                    Some(reply) => {
                        self.counters
                            .answered_bad_messages
                            .fetch_add(1, Ordering::Relaxed);
                        reply
                    }
                    None => error_reply(codec, &problem),
                };
                self.answer(&frames, &reply, out);
            }
        }
    }

    /// Appends the reply `[envelope..., body]` to `out`.
    fn answer(&self, envelope: &[Bytes], body: &[u8], out: &mut Vec<u8>) {
        zmtp::encode_reply(envelope, body, out);
        self.counters.replied.fetch_add(1, Ordering::Relaxed);
        self.metrics.reply();
    }
}
