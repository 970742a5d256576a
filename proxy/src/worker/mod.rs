//! `pacer-proxy worker`: the agent on one host. It registers the host's cores, memory and
//! Spark homes in the registry (refreshed every third of the TTL, and at once after every
//! change), starts executor JVMs when a dispatcher asks, reports their exits, and stops them
//! when asked, when their driver is gone, and when it stops itself.

pub mod launch;
mod processes;

use std::collections::{BTreeMap, HashMap};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::conf::{Properties, RedisSettings};
use crate::daemon::{now_ms, Every, RegistryLink, Router, POLL};
use crate::registry::Registry;
use crate::wire::{self, ExecutorRecord, WorkerRecord, WorkerReply, WorkerRequest};
use launch::{Capacity, Jvm, SparkHome};
use processes::Processes;

/// How often the worker checks that the drivers of its executors still accept connections.
const DRIVER_CHECK: Duration = Duration::from_secs(5);
/// Failed checks in a row after which a driver counts as gone and its executors are stopped.
/// (Executors also leave by themselves when their driver disconnects; this catches the rest.)
const DRIVER_CHECKS_FAILED: u32 = 3;

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub id: String,
    pub host: String,
    pub port: u16,
    pub cores: u32,
    pub memory_mb: u64,
    pub homes: Vec<PathBuf>,
    pub java: PathBuf,
    pub java_options: Vec<String>,
    pub work_dir: PathBuf,
    pub stop_grace: Duration,
    pub ttl: Duration,
    pub redis: RedisSettings,
}

impl WorkerSettings {
    pub fn from_properties(
        p: &Properties,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<WorkerSettings, String> {
        let e = |e: crate::conf::ConfError| e.to_string();
        let redis = p.redis().map_err(e)?.ok_or_else(|| {
            p.error(
                "redis.host",
                "the registry's host (the worker registers there)",
            )
            .to_string()
        })?;
        let host = p.host("worker.host", "127.0.0.1").map_err(e)?;
        let port = p.port("worker.port", 16162).map_err(e)?;
        let id = p
            .get("worker.id")
            .map_or_else(|| format!("{host}:{port}"), str::to_string);
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        let cores: u32 = p
            .parse_or("worker.cores", cpus, "a positive number of cores")
            .map_err(e)?;
        if cores == 0 {
            return Err(p
                .error("worker.cores", "a positive number of cores")
                .to_string());
        }
        let memory_mb = match p.memory_mb("worker.memory").map_err(e)? {
            Some(mb) => mb,
            None => total_memory_mb().map_or(1024, |total| total.saturating_sub(1024).max(512)),
        };
        let homes: Vec<PathBuf> = match p.get("worker.spark.homes") {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .map(PathBuf::from)
                .collect(),
            None => env("SPARK_HOME").map(PathBuf::from).into_iter().collect(),
        };
        if homes.is_empty() {
            return Err(p
                .error(
                    "worker.spark.homes",
                    "Spark homes, comma-separated (or set SPARK_HOME)",
                )
                .to_string());
        }
        let java = match p.get("worker.java") {
            Some(java) => PathBuf::from(java),
            None => env("JAVA_HOME").map_or_else(
                || PathBuf::from("java"),
                |home| Path::new(&home).join("bin").join("java"),
            ),
        };
        let java_options = p
            .get("worker.java.options")
            .map(|o| o.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        let work_dir = match p.get("worker.work.dir") {
            Some(dir) => PathBuf::from(dir),
            None => match env("EXTERNAL_SPARK_HOME").filter(|h| !h.is_empty()) {
                Some(home) => Path::new(&home).join("work"),
                None => std::env::temp_dir().join(format!("pacer-worker-{}", file_safe(&id))),
            },
        };
        Ok(WorkerSettings {
            id,
            host,
            port,
            cores,
            memory_mb,
            homes,
            java,
            java_options,
            work_dir,
            stop_grace: p.millis("worker.stop.grace.ms", 5_000).map_err(e)?,
            ttl: p.registry_ttl().map_err(e)?,
            redis,
        })
    }
}

/// Runs the worker until `stop` is set; then stops its executors and leaves the registry.
pub fn run(settings: WorkerSettings, stop: &AtomicBool) -> Result<(), String> {
    let homes = spark_homes(&settings)?;
    let context = zmq::Context::new();
    let endpoint = format!("tcp://{}:{}", settings.host, settings.port);
    let router = Router::bind(&context, &endpoint)?;
    let registry = Registry::new(&settings.redis).map_err(|e| e.to_string())?;
    let mut agent = Agent {
        jvm: Jvm {
            java: settings.java.clone(),
            options: settings.java_options.clone(),
        },
        processes: Processes::new(settings.stop_grace),
        registry: RegistryLink::new(
            registry,
            "executors keep running and launches go on; registering again every heartbeat",
        ),
        heartbeat: Every::new(settings.ttl / 3),
        driver_check: Every::new(DRIVER_CHECK),
        driver_failures: HashMap::new(),
        started_ms: now_ms(),
        homes,
        router,
        settings,
    };
    log::info!(
        "worker {} on {} ({} cores, {} MiB, Spark {}), registry {}",
        agent.settings.id,
        endpoint,
        agent.settings.cores,
        agent.settings.memory_mb,
        agent.homes.keys().cloned().collect::<Vec<_>>().join(", "),
        agent.settings.redis
    );
    while !stop.load(Ordering::Relaxed) {
        if let Some(request) = agent.router.next(POLL) {
            let reply = agent.handle(&request.body);
            agent.router.reply(request, &wire::encode(&reply));
        }
        agent.tick();
    }
    agent.shut_down();
    Ok(())
}

/// Each home with its version and JVM module options; a home that is not one is an error.
fn spark_homes(settings: &WorkerSettings) -> Result<BTreeMap<String, SparkHome>, String> {
    let mut homes = BTreeMap::new();
    for path in &settings.homes {
        let mut home = SparkHome::detect(path).map_err(|e| format!("worker.spark.homes: {e}"))?;
        match launch::module_options(&settings.java, path, &settings.work_dir) {
            Ok(options) => home.module_options = options,
            Err(e) => log::warn!(
                "{e}; executors of Spark {} start without module options (set \
                 worker.java.options if they need them)",
                home.version
            ),
        }
        if let Some(other) = homes.insert(home.version.clone(), home) {
            return Err(format!(
                "worker.spark.homes: two homes of Spark {}: {} and another",
                other.version,
                other.path.display()
            ));
        }
    }
    Ok(homes)
}

struct Agent {
    settings: WorkerSettings,
    homes: BTreeMap<String, SparkHome>,
    jvm: Jvm,
    router: Router,
    processes: Processes,
    registry: RegistryLink,
    heartbeat: Every,
    driver_check: Every,
    driver_failures: HashMap<String, u32>,
    started_ms: i64,
}

impl Agent {
    fn record(&self) -> WorkerRecord {
        WorkerRecord {
            id: self.settings.id.clone(),
            host: self.settings.host.clone(),
            endpoint: self.router.endpoint.clone(),
            cores: self.settings.cores,
            memory_mb: self.settings.memory_mb,
            spark_homes: self
                .homes
                .iter()
                .map(|(v, h)| (v.clone(), h.path.display().to_string()))
                .collect(),
            executors: self.processes.records(),
            started_ms: self.started_ms,
            heartbeat_ms: now_ms(),
        }
    }

    fn handle(&mut self, body: &[u8]) -> WorkerReply {
        let request = match wire::decode::<WorkerRequest>(body) {
            Ok(request) => request,
            Err(e) => {
                log::warn!("request refused: {e}");
                return WorkerReply::Error {
                    message: format!("bad request: {e}"),
                };
            }
        };
        match request {
            WorkerRequest::Launch(launch) => self.launch(&launch),
            WorkerRequest::Stop { executor_ids } => {
                let stopped = self.processes.stop(&executor_ids);
                if !stopped.is_empty() {
                    log::info!("stopping executors {}", stopped.join(", "));
                }
                WorkerReply::Stopped {
                    executor_ids: stopped,
                }
            }
            WorkerRequest::StopApp { app_id } => {
                let stopped = self.processes.stop_app(&app_id);
                if !stopped.is_empty() {
                    log::info!(
                        "application {app_id} ended: stopping executors {}",
                        stopped.join(", ")
                    );
                }
                WorkerReply::Stopped {
                    executor_ids: stopped,
                }
            }
            WorkerRequest::State {} => WorkerReply::State(self.record()),
        }
    }

    fn launch(&mut self, request: &wire::Launch) -> WorkerReply {
        let record = self.record();
        if self.processes.contains(&request.executor_id) {
            return WorkerReply::Refused {
                reason: format!("executor_id: {} already runs here", request.executor_id),
            };
        }
        let capacity = Capacity {
            free_cores: record.free_cores(),
            free_memory_mb: record.free_memory_mb(),
        };
        let valid = match launch::validate(request, &self.homes, &capacity) {
            Ok(valid) => valid,
            Err(reason) => {
                log::warn!("launch refused: {reason}");
                return WorkerReply::Refused { reason };
            }
        };
        let dir = self
            .settings
            .work_dir
            .join(&valid.app_id)
            .join(&valid.executor_id);
        let started = launch::command(
            &valid,
            &self.jvm,
            &self.settings.host,
            &self.settings.id,
            &dir,
        )
        .and_then(|command| {
            let record = ExecutorRecord {
                executor_id: valid.executor_id.clone(),
                app_id: valid.app_id.clone(),
                cores: valid.cores,
                memory_mb: valid.memory_mb,
                pid: 0,
                started_ms: now_ms(),
            };
            self.processes.start(command, record, &valid.driver_url)
        });
        match started {
            Ok(pid) => {
                log::info!(
                    "started executor {} of {} for {} (Spark {}, {} cores, {} MiB), pid {pid}, logs in {}",
                    valid.executor_id,
                    valid.app_id,
                    valid.driver_url,
                    valid.home.version,
                    valid.cores,
                    valid.memory_mb,
                    dir.display()
                );
                self.heartbeat.now();
                WorkerReply::Launched {
                    executor_id: valid.executor_id,
                    pid,
                }
            }
            Err(e) => {
                let reason = format!("cannot start {}: {e}", self.jvm.java.display());
                log::error!("{reason}");
                WorkerReply::Refused { reason }
            }
        }
    }

    fn tick(&mut self) {
        for exited in self.processes.reap() {
            let r = &exited.record;
            if exited.stopped || exited.status.success() {
                log::info!(
                    "executor {} of {} exited ({})",
                    r.executor_id,
                    r.app_id,
                    exited.status
                );
            } else {
                log::warn!(
                    "executor {} of {} exited on its own ({}); its log: {}",
                    r.executor_id,
                    r.app_id,
                    exited.status,
                    self.settings
                        .work_dir
                        .join(&r.app_id)
                        .join(&r.executor_id)
                        .join("stderr")
                        .display()
                );
            }
            self.heartbeat.now();
        }
        if self.driver_check.due() {
            self.check_drivers();
        }
        if self.heartbeat.due() {
            let record = self.record();
            let ttl = self.settings.ttl;
            self.registry.call(|r| r.put_worker(&record, ttl));
        }
    }

    fn check_drivers(&mut self) {
        let drivers = self.processes.drivers();
        self.driver_failures
            .retain(|app, _| drivers.contains_key(app));
        for (app_id, url) in drivers {
            let reachable = launch::driver_address(&url).is_some_and(|(host, port)| {
                (host.as_str(), port)
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut a| a.next())
                    .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_ok())
            });
            let failures = self.driver_failures.entry(app_id.clone()).or_insert(0);
            *failures = if reachable { 0 } else { *failures + 1 };
            if *failures == DRIVER_CHECKS_FAILED {
                let stopped = self.processes.stop_app(&app_id);
                log::warn!(
                    "driver {url} of {app_id} unreachable {DRIVER_CHECKS_FAILED} times in a row: \
                     stopping its executors {}",
                    stopped.join(", ")
                );
            }
        }
    }

    fn shut_down(&mut self) {
        let stopping = self.processes.stop_all();
        if !stopping.is_empty() {
            log::info!("stopping: executors {}", stopping.join(", "));
        }
        let deadline = Instant::now() + self.settings.stop_grace + Duration::from_secs(2);
        while !self.processes.is_empty() && Instant::now() < deadline {
            self.processes.reap();
            std::thread::sleep(Duration::from_millis(50));
        }
        let id = self.settings.id.clone();
        self.registry.call(|r| r.remove_worker(&id));
        log::info!("worker {} stopped", self.settings.id);
    }
}

fn total_memory_mb() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

fn file_safe(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
