//! The socket thread: receives, decodes and routes every message, answers what needs no
//! worker, and sends the workers' replies, all on one single-threaded runtime.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use pacer_protocol::{Codec, Event, EventType, ProtocolError};
use tokio::sync::mpsc::UnboundedReceiver;
use zeromq::{RouterRecvHalf, RouterSendHalf, SocketRecv, SocketSend, ZmqMessage};

use super::dispatch::Dispatcher;
use super::service::Service;
use super::wire::{decode, encode_reply, error_reply, Decoded};
use super::{handle_timed, Counters, Request, ServerState};
use crate::metrics::Metrics;

/// How long shutdown waits for requests already received to be answered.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the stop flag is looked at.
const STOP_CHECK: Duration = Duration::from_millis(100);
/// After the last reply at shutdown: time for the connections to write what is queued.
const LINGER: Duration = Duration::from_millis(200);
const STATS_EVERY: Duration = Duration::from_secs(60);

pub(super) struct SocketLoop {
    pub metrics: Arc<Metrics>,
    pub state: Arc<ServerState>,
    pub dispatcher: Arc<Dispatcher<Request>>,
    pub service: Arc<Service>,
    pub reader: crate::store::Reader,
    pub counters: Arc<Counters>,
    pub max_message_bytes: usize,
    pub stop: Arc<AtomicBool>,
    pub start_keys: u64,
    /// JOB_END decisions run on the socket thread (see `Policy::cheap_decisions`).
    pub inline_decisions: bool,
}

impl SocketLoop {
    pub async fn run(
        mut self,
        router: zeromq::RouterSocket,
        mut replies: UnboundedReceiver<Vec<Bytes>>,
        workers: Vec<JoinHandle<()>>,
    ) {
        let (mut sender, mut receiver): (RouterSendHalf, RouterRecvHalf) = router.split();
        let mut stop_check = tokio::time::interval(STOP_CHECK);
        let mut last_stats = Instant::now();
        while !self.stop.load(Ordering::SeqCst) {
            tokio::select! {
                biased;
                Some(frames) = replies.recv() => self.forward(&mut sender, frames).await,
                message = receiver.recv() => match message {
                    Ok(message) => self.route(&mut sender, message.into_vec()).await,
                    Err(e) => log::warn!("receive failed: {e}"),
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
        log::info!(
            "stopping: answering {} requests in progress",
            self.dispatcher.in_flight()
        );
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        while self.dispatcher.in_flight() > 0 && Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_millis(20), replies.recv()).await {
                Ok(Some(frames)) => self.forward(&mut sender, frames).await,
                Ok(None) => break,
                Err(_) => {}
            }
        }
        self.dispatcher.close();
        for worker in workers {
            let _ = worker.join();
        }
        while let Ok(frames) = replies.try_recv() {
            self.forward(&mut sender, frames).await;
        }
        tokio::time::sleep(LINGER).await;
        self.state.serving.store(false, Ordering::Relaxed);
        log::info!("stopped; {}", self.counters.summary());
    }

    async fn route(&mut self, sender: &mut RouterSendHalf, mut frames: Vec<Bytes>) {
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
                    self.answer_inline(sender, frames, codec, event).await;
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
                let reply = match fallback {
                    Some(reply) => {
                        self.counters
                            .answered_bad_messages
                            .fetch_add(1, Ordering::Relaxed);
                        reply
                    }
                    None => error_reply(codec, &problem),
                };
                frames.push(reply.into());
                send(sender, frames).await;
                self.counters.replied.fetch_add(1, Ordering::Relaxed);
                self.metrics.reply();
            }
        }
    }

    /// Sends a worker's reply.
    async fn forward(&self, sender: &mut RouterSendHalf, frames: Vec<Bytes>) {
        if send(sender, frames).await {
            self.counters.replied.fetch_add(1, Ordering::Relaxed);
            self.metrics.reply();
        }
    }

    async fn answer_inline(
        &mut self,
        sender: &mut RouterSendHalf,
        mut frames: Vec<Bytes>,
        codec: Codec,
        event: Event,
    ) {
        let reply = handle_timed(&self.service, &self.metrics, event, &self.reader);
        frames.push(encode_reply(codec, &reply).into());
        if send(sender, frames).await {
            self.counters.replied.fetch_add(1, Ordering::Relaxed);
            self.metrics.reply();
        }
    }
}

/// Sends a reply (envelope and body); false when its client is gone.
async fn send(sender: &mut RouterSendHalf, frames: Vec<Bytes>) -> bool {
    let message = match ZmqMessage::try_from(frames) {
        Ok(message) => message,
        Err(e) => {
            log::error!("cannot build a reply: {e}");
            return false;
        }
    };
    match sender.send(message).await {
        Ok(()) => true,
        Err(e) => {
            log::debug!("a reply could not be sent (client gone?): {e}");
            false
        }
    }
}
