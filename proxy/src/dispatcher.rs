//! `pacer-proxy dispatcher`: places executors for drivers. It keeps a view of the live workers
//! from the registry (refreshed every second; while the registry is down it asks the workers it
//! last saw directly, so placement goes on), picks a worker per executor with the configured
//! selector, asks it to launch, and hands out executor ids that cannot collide with the
//! cluster manager's (`executor.id.start` and up, one sequence per application in the
//! registry).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pacer_protocol::transport::{Connection, Exchange};

use crate::conf::{Properties, RedisSettings, SelectorKind};
use crate::daemon::{now_ms, Every, RegistryLink, Router, POLL};
use crate::registry::Registry;
use crate::selector::{Candidate, Need, Selector};
use crate::wire::{
    self, Acquire, DispatcherRecord, DispatcherReply, DispatcherRequest, ExecutorRecord, Launch,
    Placement, WorkerRecord, WorkerReply, WorkerRequest,
};
use crate::worker::launch::{is_app_id, is_driver_url};

/// How long a worker may take to answer; a worker that does not is skipped for the request.
const WORKER_TIMEOUT: Duration = Duration::from_secs(3);
const VIEW_REFRESH: Duration = Duration::from_secs(1);
/// More executors than this in one request is a mistake, not a plan.
const MAX_PER_REQUEST: u32 = 1_000;

#[derive(Debug, Clone)]
pub struct DispatcherSettings {
    pub id: String,
    pub host: String,
    pub port: u16,
    pub selector: SelectorKind,
    pub seed: u64,
    pub ttl: Duration,
    pub executor_id_start: u64,
    pub redis: RedisSettings,
}

impl DispatcherSettings {
    pub fn from_properties(p: &Properties) -> Result<DispatcherSettings, String> {
        let e = |e: crate::conf::ConfError| e.to_string();
        let redis = p.redis().map_err(e)?.ok_or_else(|| {
            p.error(
                "redis.host",
                "the registry's host (the dispatcher finds workers there)",
            )
            .to_string()
        })?;
        let host = p.host("dispatcher.host", "127.0.0.1").map_err(e)?;
        let port = p.port("dispatcher.port", 16161).map_err(e)?;
        Ok(DispatcherSettings {
            id: format!("{host}:{port}"),
            host,
            port,
            selector: p.selector().map_err(e)?,
            seed: p
                .parse_or("host.selector.seed", 0, "a non-negative integer")
                .map_err(e)?,
            ttl: p.registry_ttl().map_err(e)?,
            executor_id_start: p.executor_id_start().map_err(e)?,
            redis,
        })
    }
}

pub fn run(settings: DispatcherSettings, stop: &AtomicBool) -> Result<(), String> {
    let context = zmq::Context::new();
    let endpoint = format!("tcp://{}:{}", settings.host, settings.port);
    let router = Router::bind(&context, &endpoint)?;
    let registry = Registry::new(&settings.redis).map_err(|e| e.to_string())?;
    let mut dispatcher = Dispatcher {
        selector: Selector::new(settings.selector, settings.seed),
        registry: RegistryLink::new(
            registry,
            "placing on the workers last seen, asking them directly",
        ),
        heartbeat: Every::new(settings.ttl / 3),
        view_refresh: Every::new(VIEW_REFRESH),
        workers: BTreeMap::new(),
        links: HashMap::new(),
        last_numbers: HashMap::new(),
        started_ms: now_ms(),
        context,
        router,
        settings,
    };
    log::info!(
        "dispatcher {} on {} (selector {}), registry {}",
        dispatcher.settings.id,
        endpoint,
        dispatcher.settings.selector.name(),
        dispatcher.settings.redis
    );
    while !stop.load(Ordering::Relaxed) {
        if let Some(request) = dispatcher.router.next(POLL) {
            let reply = dispatcher.handle(&request.body);
            dispatcher.router.reply(request, &wire::encode(&reply));
        }
        dispatcher.tick();
    }
    let id = dispatcher.settings.id.clone();
    dispatcher.registry.call(|r| r.remove_dispatcher(&id));
    log::info!("dispatcher {id} stopped");
    Ok(())
}

struct Dispatcher {
    settings: DispatcherSettings,
    context: zmq::Context,
    router: Router,
    registry: RegistryLink,
    selector: Selector,
    heartbeat: Every,
    view_refresh: Every,
    /// The live workers as last seen, by id.
    workers: BTreeMap<String, WorkerRecord>,
    /// One connection per worker endpoint.
    links: HashMap<String, Connection>,
    /// The last executor number handed out per application, for when the registry is down.
    last_numbers: HashMap<String, u64>,
    started_ms: i64,
}

impl Dispatcher {
    fn tick(&mut self) {
        if self.heartbeat.due() {
            let record = DispatcherRecord {
                id: self.settings.id.clone(),
                endpoint: self.router.endpoint.clone(),
                selector: self.settings.selector.name().to_string(),
                started_ms: self.started_ms,
                heartbeat_ms: now_ms(),
            };
            let ttl = self.settings.ttl;
            self.registry.call(|r| r.put_dispatcher(&record, ttl));
        }
        if self.view_refresh.due() {
            self.refresh_view();
        }
    }

    fn refresh_view(&mut self) {
        if let Some(workers) = self.registry.call(|r| r.workers()) {
            let before: HashSet<String> = self.workers.keys().cloned().collect();
            self.workers = workers.into_iter().map(|w| (w.id.clone(), w)).collect();
            for id in self.workers.keys().filter(|id| !before.contains(*id)) {
                log::info!("worker {id} joined");
            }
            for id in before.iter().filter(|id| !self.workers.contains_key(*id)) {
                log::info!("worker {id} left (its registry entry expired or was removed)");
            }
            let live: HashSet<&String> = self.workers.values().map(|w| &w.endpoint).collect();
            self.links.retain(|endpoint, _| live.contains(endpoint));
            return;
        }
        // The registry is down: the workers last seen answer for themselves.
        let known: Vec<WorkerRecord> = self.workers.values().cloned().collect();
        for worker in known {
            match self.ask(&worker, &WorkerRequest::State {}) {
                Ok(WorkerReply::State(record)) => {
                    self.workers.insert(record.id.clone(), record);
                }
                _ => {
                    log::info!("worker {} left (does not answer)", worker.id);
                    self.workers.remove(&worker.id);
                }
            }
        }
    }

    fn handle(&mut self, body: &[u8]) -> DispatcherReply {
        let request = match wire::decode::<DispatcherRequest>(body) {
            Ok(request) => request,
            Err(e) => {
                log::warn!("request refused: {e}");
                return DispatcherReply::Error {
                    message: format!("bad request: {e}"),
                };
            }
        };
        match request {
            DispatcherRequest::Acquire(acquire) => match check(&acquire) {
                Ok(()) => self.acquire(&acquire),
                Err(message) => {
                    log::warn!("acquire refused: {message}");
                    DispatcherReply::Error { message }
                }
            },
            DispatcherRequest::Release {
                app_id,
                executor_ids,
            } => self.release(&app_id, &executor_ids),
            DispatcherRequest::AppEnded { app_id } => self.app_ended(&app_id),
        }
    }

    fn acquire(&mut self, request: &Acquire) -> DispatcherReply {
        let need = Need {
            cores: request.cores,
            memory_mb: request.memory_mb,
        };
        let mut placed = Vec::new();
        let mut skipped: HashSet<String> = HashSet::new();
        let mut reason = None;
        'executors: for _ in 0..request.count {
            let executor_id = self.next_executor_id(&request.app_id, &request.known_ids);
            loop {
                let candidates: Vec<(Candidate, &WorkerRecord)> = self
                    .workers
                    .values()
                    .filter(|w| !skipped.contains(&w.id))
                    .filter(|w| w.spark_homes.contains_key(&request.spark_version))
                    .map(|w| (candidate(w, &request.app_id), w))
                    .collect();
                let views: Vec<Candidate> = candidates.iter().map(|(c, _)| c.clone()).collect();
                let Some(index) = self.selector.pick(&views, need) else {
                    reason = Some(format!(
                        "no worker has {} free cores and {} MiB for Spark {} ({} workers known)",
                        need.cores,
                        need.memory_mb,
                        request.spark_version,
                        self.workers.len()
                    ));
                    break 'executors;
                };
                let worker = candidates[index].1.clone();
                let launch = WorkerRequest::Launch(Launch {
                    app_id: request.app_id.clone(),
                    driver_url: request.driver_url.clone(),
                    executor_id: executor_id.clone(),
                    cores: request.cores,
                    memory_mb: request.memory_mb,
                    spark_version: request.spark_version.clone(),
                });
                match self.ask(&worker, &launch) {
                    Ok(WorkerReply::Launched { pid, .. }) => {
                        log::info!(
                            "placed executor {executor_id} of {} on worker {} ({})",
                            request.app_id,
                            worker.id,
                            self.selector.kind().name()
                        );
                        if let Some(record) = self.workers.get_mut(&worker.id) {
                            record.executors.push(ExecutorRecord {
                                executor_id: executor_id.clone(),
                                app_id: request.app_id.clone(),
                                cores: request.cores,
                                memory_mb: request.memory_mb,
                                pid,
                                started_ms: now_ms(),
                            });
                        }
                        placed.push(Placement {
                            executor_id,
                            worker_id: worker.id.clone(),
                            host: worker.host.clone(),
                        });
                        continue 'executors;
                    }
                    Ok(WorkerReply::Refused { reason }) => {
                        log::warn!(
                            "worker {} refused executor {executor_id}: {reason}",
                            worker.id
                        );
                    }
                    Ok(other) => {
                        log::warn!("worker {} answered a launch with {other:?}", worker.id)
                    }
                    Err(e) => log::warn!("worker {}: {e}", worker.id),
                }
                skipped.insert(worker.id.clone());
            }
        }
        let unplaced = request.count - placed.len() as u32;
        if unplaced > 0 {
            log::warn!(
                "{} of {} executors for {} not placed: {}",
                unplaced,
                request.count,
                request.app_id,
                reason.as_deref().unwrap_or("workers refused")
            );
        }
        DispatcherReply::Placed {
            executors: placed,
            unplaced,
            reason: (unplaced > 0).then(|| reason.unwrap_or_else(|| "workers refused".into())),
        }
    }

    /// `executor.id.start` + the application's next sequence number, above every id the
    /// driver already knows (a registry that lost its counter must not reissue an id).
    fn next_executor_id(&mut self, app_id: &str, known_ids: &[String]) -> String {
        let start = self.settings.executor_id_start;
        let known_max = known_ids
            .iter()
            .filter_map(|id| id.parse::<u64>().ok())
            .filter(|&id| id >= start)
            .map(|id| id - start + 1)
            .max()
            .unwrap_or(0);
        let floor = known_max.max(self.last_numbers.get(app_id).copied().unwrap_or(0));
        let number = match self.registry.call(|r| r.next_executor_number(app_id)) {
            Some(n) if n > floor => n,
            _ => floor + 1,
        };
        self.last_numbers.insert(app_id.to_string(), number);
        (start + number - 1).to_string()
    }

    fn release(&mut self, app_id: &str, executor_ids: &[String]) -> DispatcherReply {
        let mut by_worker: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for worker in self.workers.values() {
            for e in &worker.executors {
                if e.app_id == app_id && executor_ids.contains(&e.executor_id) {
                    by_worker
                        .entry(worker.id.clone())
                        .or_default()
                        .push(e.executor_id.clone());
                }
            }
        }
        let mut released = Vec::new();
        for (worker_id, ids) in by_worker {
            let worker = self.workers[&worker_id].clone();
            match self.ask(&worker, &WorkerRequest::Stop { executor_ids: ids }) {
                Ok(WorkerReply::Stopped { executor_ids }) => released.extend(executor_ids),
                Ok(other) => log::warn!("worker {worker_id} answered a stop with {other:?}"),
                Err(e) => log::warn!("worker {worker_id}: {e}"),
            }
        }
        if !released.is_empty() {
            log::info!("released executors {} of {app_id}", released.join(", "));
        }
        DispatcherReply::Released {
            executor_ids: released,
        }
    }

    fn app_ended(&mut self, app_id: &str) -> DispatcherReply {
        let hosting: Vec<WorkerRecord> = self
            .workers
            .values()
            .filter(|w| w.executors.iter().any(|e| e.app_id == app_id))
            .cloned()
            .collect();
        let mut released = Vec::new();
        for worker in hosting {
            let request = WorkerRequest::StopApp {
                app_id: app_id.to_string(),
            };
            match self.ask(&worker, &request) {
                Ok(WorkerReply::Stopped { executor_ids }) => released.extend(executor_ids),
                Ok(other) => log::warn!("worker {} answered a stop with {other:?}", worker.id),
                Err(e) => log::warn!("worker {}: {e}", worker.id),
            }
        }
        self.last_numbers.remove(app_id);
        log::info!(
            "application {app_id} ended; stopping its executors {}",
            if released.is_empty() {
                "(none left)".to_string()
            } else {
                released.join(", ")
            }
        );
        DispatcherReply::Released {
            executor_ids: released,
        }
    }

    fn ask(
        &mut self,
        worker: &WorkerRecord,
        request: &WorkerRequest,
    ) -> Result<WorkerReply, String> {
        let link = self
            .links
            .entry(worker.endpoint.clone())
            .or_insert_with(|| Connection::with_context(self.context.clone(), &worker.endpoint));
        match link.exchange(&wire::encode(request), WORKER_TIMEOUT, &|| false) {
            Exchange::Reply(bytes) => wire::decode(&bytes).map_err(|e| format!("bad reply: {e}")),
            Exchange::TimedOut => Err(format!(
                "no answer from {} within {} s",
                worker.endpoint,
                WORKER_TIMEOUT.as_secs()
            )),
            Exchange::Failed(e) => Err(e),
            Exchange::Aborted => Err("aborted".into()),
        }
    }
}

fn candidate(worker: &WorkerRecord, app_id: &str) -> Candidate {
    Candidate {
        worker_id: worker.id.clone(),
        free_cores: worker.free_cores(),
        free_memory_mb: worker.free_memory_mb(),
        app_executors: worker
            .executors
            .iter()
            .filter(|e| e.app_id == app_id)
            .count() as u32,
    }
}

/// The fields of an acquire, checked before any worker is asked.
fn check(request: &Acquire) -> Result<(), String> {
    if !is_app_id(&request.app_id) {
        return Err(format!(
            "acquire.app_id: not an application id: '{}'",
            request.app_id
        ));
    }
    if !is_driver_url(&request.driver_url) {
        return Err(format!(
            "acquire.driver_url: expected spark://CoarseGrainedScheduler@host:port, got '{}'",
            request.driver_url
        ));
    }
    let version_ok = request.spark_version.split_once('.').is_some_and(|(a, b)| {
        !a.is_empty() && !b.is_empty() && a.chars().chain(b.chars()).all(|c| c.is_ascii_digit())
    });
    if !version_ok {
        return Err(format!(
            "acquire.spark_version: expected major.minor such as 3.5, got '{}'",
            request.spark_version
        ));
    }
    if request.count == 0 || request.count > MAX_PER_REQUEST {
        return Err(format!(
            "acquire.count: expected 1 to {MAX_PER_REQUEST}, got {}",
            request.count
        ));
    }
    if request.cores == 0 || request.memory_mb == 0 {
        return Err("acquire.cores, acquire.memory_mb: expected positive numbers".into());
    }
    Ok(())
}
