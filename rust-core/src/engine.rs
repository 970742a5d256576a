//! The embeddable API: one method per Spark event, `next_actions` for the thread that applies
//! scaling decisions, and `close`. The JNI layer wraps it one to one.
//!
//! Event methods only update in-memory state and enqueue messages: no network I/O ever
//! happens on the caller's thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::aggregation::{Aggregator, Executors, Footprint, Pool, StageCompletion, StageInfo};
use crate::client::{Client, ClientSettings, Outcome};
use crate::config::Config;
use crate::control::{Action, Controller, Placement, Recommendation};
use crate::logging;
use crate::pool::{PoolBook, PoolHost, PoolThread, Step};
use pacer_protocol::{self as protocol, AppSpecs, Event};
use pacer_proxy::conf::Destination;
use pacer_proxy::wire::Placement as PoolPlacement;

/// A kill Spark has not carried out after this long is forgotten.
const KILL_GRACE_MS: i64 = 60_000;

/// A snapshot of what the core has done, for logs, tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub events_enqueued: u64,
    pub events_dropped: u64,
    pub messages_sent: u64,
    pub replies: u64,
    pub reply_timeouts: u64,
    pub garbage_replies: u64,
    pub send_failures: u64,
    pub unregistered_events: u64,
    pub mismatched_replies: u64,
    pub recommendations: u64,
    pub echoes: u64,
    pub queued: usize,
    pub app_event_id: Option<String>,
    pub jobs_tracked: usize,
    pub stages_tracked: usize,
    pub executors_tracked: usize,
    pub registered_executors: u32,
    /// `reschedule.dst.executor`: internal, external or burst.
    pub executor_source: String,
    /// Registered executors the external pool started.
    pub external_executors: u32,
    /// External executors placed by the dispatcher, not registered yet.
    pub external_starting: u32,
    /// External executors wanted now.
    pub external_target: u32,
}

#[derive(Debug)]
pub enum CoreError {
    /// The client thread could not be started.
    Thread(std::io::Error),
}

impl std::error::Error for CoreError {}

impl std::fmt::Display for CoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CoreError::Thread(e) => write!(f, "cannot start the bridge client thread: {e}"),
        }
    }
}

struct State {
    aggregator: Aggregator,
    controller: Controller,
    app_started: bool,
    app_ended: bool,
    closed: bool,
    app_event_id: Option<String>,
    /// Spark's application id (APPLICATION_START's).
    application_id: Option<String>,
    pool: PoolBook,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when there may be new actions (a recommendation, executors changed, close).
    changed: Condvar,
    /// Signalled when there may be work for the external pool's thread.
    pool_changed: Condvar,
    launch_timeout: Duration,
    min_executors: u32,
    max_executors: u32,
    mismatched_replies: AtomicU64,
    recommendations: AtomicU64,
    echoes: AtomicU64,
}

pub struct Core {
    shared: Arc<Shared>,
    client: Client,
    pool: Option<PoolThread>,
    config: Config,
}

impl Core {
    /// Starts the core and its bridge client thread. Connecting to the bridge happens on that
    /// thread; an unreachable bridge is not an error here.
    pub fn new(config: Config) -> Result<Core, CoreError> {
        logging::install(config.log_level);
        for key in &config.unknown_keys {
            log::warn!("unknown configuration key {key} ignored");
        }
        let placement = match config.pool.destination {
            Destination::Internal => Placement::Internal,
            Destination::External => Placement::External,
            Destination::Burst => Placement::Burst {
                internal_capacity: config
                    .pool
                    .internal_capacity
                    .unwrap_or(config.max_executors),
            },
        };
        let mut controller = Controller::with_placement(
            config.min_executors,
            config.max_executors,
            config.executor_request_timeout,
            !config.dynamic_allocation,
            placement,
        );
        if placement == Placement::External {
            // Nothing else gives this application executors: start with what it asked for
            // until the bridge recommends (also when the bridge is down).
            let initial = config.initial_executors.unwrap_or(config.min_executors);
            controller.set_initial_target(initial.max(config.min_executors).max(1));
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                aggregator: Aggregator::new(config.initial_executors),
                controller,
                app_started: false,
                app_ended: false,
                closed: false,
                app_event_id: None,
                application_id: None,
                pool: PoolBook::default(),
            }),
            changed: Condvar::new(),
            pool_changed: Condvar::new(),
            launch_timeout: config.pool.launch_timeout,
            min_executors: config.min_executors,
            max_executors: config.max_executors,
            mismatched_replies: AtomicU64::new(0),
            recommendations: AtomicU64::new(0),
            echoes: AtomicU64::new(0),
        });
        let settings = ClientSettings {
            address: config.bridge_address.clone(),
            codec: config.codec,
            response_timeout: config.response_timeout,
            queue_capacity: config.queue_capacity,
        };
        let handler_state = shared.clone();
        let client = Client::start(
            settings,
            Box::new(move |event, outcome| handler_state.on_outcome(event, outcome)),
        )
        .map_err(CoreError::Thread)?;
        let pool = if config.pool.is_external() {
            let host: Arc<dyn PoolHost> = shared.clone();
            Some(PoolThread::start(config.pool.clone(), host).map_err(CoreError::Thread)?)
        } else {
            None
        };
        log::info!(
            "Pacer started: bridge {}, codec {}, {} run, executors {}..{}{}",
            config.bridge_address,
            config.codec.name(),
            if config.is_adaptive {
                "adaptive"
            } else {
                "profiling"
            },
            config.min_executors,
            config.max_executors,
            if config.is_adaptive {
                format!(", target {} ms", config.target_runtime_ms)
            } else {
                String::new()
            }
        );
        Ok(Core {
            shared,
            client,
            pool,
            config,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn on_application_start(&self, application_id: &str, app_name: &str, time_ms: i64) {
        {
            let mut state = self.shared.state.lock();
            if state.app_started || state.closed {
                return;
            }
            state.app_started = true;
            state.application_id = Some(application_id.to_string());
            state.aggregator.application_started(time_ms);
        }
        self.shared.pool_changed.notify_all();
        let payload = self.application_start(application_id, app_name, time_ms);
        self.client.send(Event::ApplicationStart(Box::new(payload)));
    }

    fn application_start(
        &self,
        application_id: &str,
        app_name: &str,
        time_ms: i64,
    ) -> protocol::ApplicationStart {
        let c = &self.config;
        let (algorithm_name, algorithm_args) = split_algorithm(app_name);
        protocol::ApplicationStart {
            application_id: application_id.to_string(),
            app_name: app_name.to_string(),
            app_time: time_ms,
            is_adaptive: c.is_adaptive,
            is_training: c.is_training,
            app_specs: AppSpecs {
                algorithm_name,
                algorithm_args,
                datasize_mb: c.datasize_mb,
                target_runtime: c.target_runtime_ms,
                min_executors: c.min_executors.into(),
                max_executors: c.max_executors.into(),
            },
            driver_specs: c.driver.clone(),
            executor_specs: c.executor.clone(),
            environment_specs: c.environment.clone(),
        }
    }

    pub fn on_application_end(&self, time_ms: i64) {
        let num_executors = {
            let mut state = self.shared.state.lock();
            if state.app_ended || state.closed {
                return;
            }
            state.app_ended = true;
            state.aggregator.application_ended();
            state.aggregator.num_executors()
        };
        self.shared.changed.notify_all();
        self.shared.pool_changed.notify_all();
        self.client
            .send(Event::ApplicationEnd(protocol::ApplicationEnd {
                app_event_id: String::new(),
                app_time: time_ms,
                num_executors: num_executors.into(),
            }));
    }

    pub fn on_job_start(&self, job_id: i32, time_ms: i64, stage_ids: &[i32]) {
        if self.config.testing_panic_on_job_start {
            panic!("testing.panicOnJobStart is set: panicking on purpose");
        }
        let num_executors = {
            let mut state = self.shared.state.lock();
            if state.closed || !state.aggregator.job_started(job_id, stage_ids) {
                return;
            }
            state.aggregator.num_executors()
        };
        self.client.send(Event::JobStart(protocol::JobStart {
            app_event_id: String::new(),
            app_time: time_ms,
            job_id: job_id.into(),
            num_executors: num_executors.into(),
        }));
    }

    pub fn on_job_end(&self, job_id: i32, time_ms: i64) {
        let summary = {
            let mut state = self.shared.state.lock();
            if state.closed {
                return;
            }
            state.aggregator.job_ended(job_id, time_ms)
        };
        self.client.send(Event::JobEnd(protocol::JobEnd {
            app_event_id: String::new(),
            app_time: time_ms,
            job_id: job_id.into(),
            num_executors: summary.num_executors.into(),
            rescaling_time_ratio: summary.rescaling_time_ratio,
            stages: summary.stages,
        }));
    }

    pub fn on_stage_submitted(&self, info: &StageInfo<'_>, time_ms: i64) {
        self.shared
            .state
            .lock()
            .aggregator
            .stage_submitted(info, time_ms);
    }

    pub fn on_stage_completed(&self, completion: &StageCompletion<'_>) {
        self.shared
            .state
            .lock()
            .aggregator
            .stage_completed(completion);
    }

    pub fn on_task_start(&self, executor_id: &str, time_ms: i64) {
        // A task on an executor whose ExecutorAdded was lost reveals it.
        self.update_executors(|aggregator| aggregator.task_started(executor_id, time_ms));
    }

    pub fn on_task_end(&self, executor_id: &str) {
        self.shared.state.lock().aggregator.task_ended(executor_id);
    }

    /// `external`: the executor carries the external pool's tag (Spark executor attribute
    /// `PACER_POOL=external`).
    pub fn on_executor_added(&self, executor_id: &str, host: &str, time_ms: i64, external: bool) {
        let pool = if external {
            Pool::External
        } else {
            Pool::Internal
        };
        let changed = {
            let mut state = self.shared.state.lock();
            let changed = state
                .aggregator
                .executor_added(executor_id, host, time_ms, pool);
            if changed && state.aggregator.executors().pool(executor_id) == Some(Pool::External) {
                state.pool.registered(executor_id);
                log::info!("external executor {executor_id} registered on {host}");
            }
            changed
        };
        if changed {
            self.shared.changed.notify_all();
            self.shared.pool_changed.notify_all();
        }
    }

    pub fn on_executor_removed(&self, executor_id: &str, time_ms: i64) {
        self.update_executors(|aggregator| aggregator.executor_removed(executor_id, time_ms));
        self.shared.pool_changed.notify_all();
    }

    /// Applies `change`; when it reports that the registered executors changed, wakes the
    /// thread waiting for actions (a pending kill or request may now apply).
    fn update_executors(&self, change: impl FnOnce(&mut Aggregator) -> bool) {
        let changed = change(&mut self.shared.state.lock().aggregator);
        if changed {
            self.shared.changed.notify_all();
        }
    }

    /// Waits up to `timeout` for executor actions to apply, in order. Returns an empty list on
    /// timeout and at once after the application ended or the core was closed.
    pub fn next_actions(&self, timeout: Duration) -> Vec<Action> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.state.lock();
        // Asking again means the last batch was applied: Spark sends no more tasks to the
        // external executors it killed, so the pool may stop them.
        if state.pool.batch_applied() {
            self.shared.pool_changed.notify_all();
        }
        loop {
            if state.closed || state.app_ended {
                return Vec::new();
            }
            let now = Instant::now();
            let now_ms = logging::now_ms();
            let State {
                aggregator,
                controller,
                pool,
                ..
            } = &mut *state;
            aggregator
                .executors_mut()
                .expire_kill_requests(now_ms, KILL_GRACE_MS);
            let decision = controller.decide(now, now_ms, aggregator.executors_mut());
            if let Some(target) = decision.requested {
                aggregator.scale_out_requested(now_ms, target);
                self.shared.pool_changed.notify_all();
            }
            for action in &decision.actions {
                if let Action::Kill(ids) = action {
                    let external: Vec<String> = ids
                        .iter()
                        .filter(|id| aggregator.executors().pool(id) == Some(Pool::External))
                        .cloned()
                        .collect();
                    pool.kills_handed_out(&external);
                }
            }
            if !decision.actions.is_empty() {
                log_actions(&decision.actions, aggregator.executors());
                return decision.actions;
            }
            if now >= deadline {
                return Vec::new();
            }
            let wake_at = decision.recheck_at.map_or(deadline, |t| t.min(deadline));
            self.shared.changed.wait_until(&mut state, wake_at);
        }
    }

    /// Stops the core: pending `next_actions` calls return, queued messages are sent for up to
    /// the configured shutdown timeout, then the client thread stops. Idempotent.
    pub fn close(&self) {
        {
            let mut state = self.shared.state.lock();
            state.closed = true;
        }
        self.shared.changed.notify_all();
        self.shared.pool_changed.notify_all();
        let grace = self.config.shutdown_timeout;
        // Both clients end within the same grace, side by side.
        let pool_thread = self.pool.as_ref().and_then(|pool| pool.begin_close(grace));
        self.client.close(grace);
        if let (Some(pool), Some(thread)) = (&self.pool, pool_thread) {
            pool.join(thread);
        }
    }

    /// Takes up to `max` buffered log records (process-wide), oldest first.
    pub fn drain_logs(&self, max: usize) -> Vec<logging::LogRecord> {
        logging::drain(max)
    }

    pub fn stats(&self) -> Stats {
        let c = self.client.counters();
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let state = self.shared.state.lock();
        let Footprint {
            jobs,
            stages,
            executors,
        } = state.aggregator.footprint();
        Stats {
            events_enqueued: load(&c.enqueued),
            events_dropped: load(&c.dropped),
            messages_sent: load(&c.sent),
            replies: load(&c.replies),
            reply_timeouts: load(&c.timeouts),
            garbage_replies: load(&c.garbage_replies),
            send_failures: load(&c.failures),
            unregistered_events: load(&c.unregistered),
            mismatched_replies: load(&self.shared.mismatched_replies),
            recommendations: load(&self.shared.recommendations),
            echoes: load(&self.shared.echoes),
            queued: self.client.queued(),
            app_event_id: state.app_event_id.clone(),
            jobs_tracked: jobs,
            stages_tracked: stages,
            executors_tracked: executors,
            registered_executors: state.aggregator.executors().count(),
            executor_source: self.config.pool.destination.name().to_string(),
            external_executors: state.aggregator.executors().count_in(Pool::External),
            external_starting: state.pool.pending_count() as u32,
            external_target: state.controller.external_target(),
        }
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        self.close();
    }
}

impl PoolHost for Shared {
    fn next_step(&self, timeout: Duration, may_exchange: bool) -> Step {
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock();
        loop {
            if state.app_ended || state.closed {
                return Step::End {
                    app_id: state.application_id.clone(),
                };
            }
            if let (true, Some(app_id)) = (may_exchange, state.application_id.clone()) {
                let target = state.controller.external_target();
                let State {
                    aggregator, pool, ..
                } = &mut *state;
                let work = pool.work(
                    Instant::now(),
                    target,
                    aggregator.executors_mut(),
                    self.launch_timeout,
                );
                if !work.is_empty() {
                    return Step::Work { app_id, work };
                }
            }
            if Instant::now() >= deadline {
                return Step::Idle;
            }
            self.pool_changed.wait_until(&mut state, deadline);
        }
    }

    fn placed(&self, placements: &[PoolPlacement]) {
        let ids: Vec<String> = placements.iter().map(|p| p.executor_id.clone()).collect();
        let mut state = self.state.lock();
        let State {
            aggregator, pool, ..
        } = &mut *state;
        pool.placed(&ids, Instant::now(), aggregator.executors_mut());
    }

    fn release_failed(&self, executor_ids: Vec<String>) {
        self.state.lock().pool.requeue(executor_ids);
    }

    fn wake(&self) {
        self.pool_changed.notify_all();
    }
}

impl Shared {
    /// Runs on the client thread for every event sent.
    fn on_outcome(&self, event: &Event, outcome: Outcome) {
        let Outcome::Reply(reply) = outcome else {
            return;
        };
        let mut state = self.state.lock();
        match event {
            Event::ApplicationStart(_) => state.app_event_id = Some(reply.app_event_id.clone()),
            Event::ApplicationEnd(_) => return,
            _ => {
                if state.app_event_id.as_deref() != Some(reply.app_event_id.as_str()) {
                    let n = self.mismatched_replies.fetch_add(1, Ordering::Relaxed);
                    if n.is_power_of_two() || n == 0 {
                        log::warn!(
                            "reply to {} carries app_event_id '{}' instead of '{}'; ignored",
                            event.event_type().wire_name(),
                            reply.app_event_id,
                            state.app_event_id.as_deref().unwrap_or("")
                        );
                    }
                    return;
                }
            }
        }
        if state.app_ended || state.closed {
            return;
        }
        match state
            .controller
            .recommend(reply.recommended_scale_out, event.num_executors())
        {
            Recommendation::Echo => {
                self.echoes.fetch_add(1, Ordering::Relaxed);
            }
            Recommendation::Target(target) => {
                self.recommendations.fetch_add(1, Ordering::Relaxed);
                let recommended = reply.recommended_scale_out;
                if recommended != i64::from(target) {
                    log::warn!(
                        "bridge recommended {recommended} executors in reply to {}; using {target} \
                         (allowed {}..{})",
                        event.event_type().wire_name(),
                        self.min_executors,
                        self.max_executors
                    );
                } else {
                    log::info!(
                        "bridge recommends {} (reply to {})",
                        count_of_executors(target),
                        event.event_type().wire_name()
                    );
                }
                drop(state);
                self.changed.notify_all();
            }
        }
    }
}

fn log_actions(actions: &[Action], executors: &Executors) {
    for action in actions {
        match action {
            Action::RequestTotal(n) => log::info!(
                "requesting {} in total ({} registered)",
                count_of_executors(*n),
                executors.count()
            ),
            Action::Kill(ids) => {
                let described: Vec<String> = ids
                    .iter()
                    .map(|id| {
                        let pool = match executors.pool(id) {
                            Some(Pool::External) => " (external)",
                            _ => "",
                        };
                        match executors.host(id) {
                            Some(host) if !host.is_empty() => format!("{id} on {host}{pool}"),
                            _ => format!("{id}{pool}"),
                        }
                    })
                    .collect();
                log::info!("releasing idle executors {}", described.join(", "))
            }
        }
    }
}

fn count_of_executors(n: u32) -> String {
    if n == 1 {
        "1 executor".to_string()
    } else {
        format!("{n} executors")
    }
}

/// `NAME with Params(a, b, c)` (HiBench convention) → (NAME, [a, b, c]); otherwise the whole
/// name and no arguments.
pub fn split_algorithm(app_name: &str) -> (String, Vec<String>) {
    if let Some((name, rest)) = app_name.split_once(" with Params(") {
        if let Some(args) = rest.strip_suffix(')') {
            let args = args
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect();
            return (name.trim().to_string(), args);
        }
    }
    (app_name.to_string(), Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_name_and_args() {
        assert_eq!(
            split_algorithm("KMeans with Params(hdfs://in, 10, 0.5)"),
            (
                "KMeans".to_string(),
                vec!["hdfs://in".into(), "10".into(), "0.5".into()]
            )
        );
        assert_eq!(split_algorithm("My App"), ("My App".to_string(), vec![]));
        assert_eq!(
            split_algorithm("X with Params()"),
            ("X".to_string(), vec![])
        );
        assert_eq!(
            split_algorithm("X with Params(a"),
            ("X with Params(a".to_string(), vec![])
        );
    }
}
