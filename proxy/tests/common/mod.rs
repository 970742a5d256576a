//! A real Redis on a free port, the real `pacer-proxy` daemons, and a stand-in for the Java
//! the worker starts executors on (a shell script that records its command line and waits).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pacer_proxy::client::DispatcherClient;
use pacer_proxy::conf::RedisSettings;
use pacer_proxy::registry::Registry;
use pacer_proxy::wire::{Acquire, DispatcherReply, DispatcherRequest, WorkerRecord};

pub const APP: &str = "app-20261202120000-0001";

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes.
pub fn wait_for(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if condition() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// A process stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Process {
    pub child: Child,
    pub log: PathBuf,
}

impl Process {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, signal: i32) {
        unsafe {
            libc::kill(self.child.id() as i32, signal);
        }
    }

    /// SIGTERM and wait up to `timeout` for the exit.
    pub fn terminate(&mut self, timeout: Duration) -> bool {
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if !self.terminate(Duration::from_secs(10)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub struct Redis {
    pub settings: RedisSettings,
    pub process: Option<Process>,
    dir: tempfile::TempDir,
}

impl Redis {
    pub fn start(password: Option<&str>) -> Redis {
        let dir = tempfile::tempdir().unwrap();
        let mut redis = Redis {
            settings: RedisSettings {
                host: "127.0.0.1".into(),
                port: free_port(),
                password: password.map(str::to_string),
            },
            process: None,
            dir,
        };
        redis.restart();
        redis
    }

    /// Starts the server (again, on the same port), empty.
    pub fn restart(&mut self) {
        let log = self.dir.path().join("redis.log");
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &self.settings.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dir", &self.dir.path().display().to_string()]);
        if let Some(password) = &self.settings.password {
            command.args(["--requirepass", password]);
        }
        let child = command
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/ensure-deps rust installs it)");
        self.process = Some(Process { child, log });
        let mut registry = self.registry();
        wait_for("redis", Duration::from_secs(10), || registry.ping().is_ok());
    }

    pub fn stop(&mut self) {
        self.process = None;
    }

    pub fn registry(&self) -> Registry {
        Registry::new(&self.settings).unwrap()
    }

    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "--redis-host".to_string(),
            self.settings.host.clone(),
            "--redis-port".into(),
            self.settings.port.to_string(),
        ];
        if let Some(password) = &self.settings.password {
            args.push("--set".into());
            args.push(format!("redis.password={password}"));
        }
        args
    }
}

/// A folder that passes for a Spark home of `version`, and the stand-in Java.
pub struct Stage {
    pub dir: tempfile::TempDir,
}

/// The stand-in Java: answers the module-options probe, otherwise records its arguments and
/// environment in its working directory and waits, as an executor would, until signalled.
const FAKE_JAVA: &str = r#"#!/bin/sh
for a in "$@"; do
  case "$a" in *PacerModuleOptions.java) echo "--add-opens=java.base/java.nio=ALL-UNNAMED"; exit 0;; esac
done
printf '%s\n' "$@" > args
env | grep -E '^(SPARK_|PACER_)' | sort > env.tmp && mv env.tmp env
exec sleep 600
"#;

impl Stage {
    pub fn new() -> Stage {
        let dir = tempfile::tempdir().unwrap();
        for version in ["3.5.9", "4.0.5"] {
            let home = dir.path().join(format!("spark-{version}"));
            std::fs::create_dir_all(home.join("jars")).unwrap();
            let scala = if version.starts_with('3') {
                "2.12"
            } else {
                "2.13"
            };
            std::fs::write(
                home.join("jars")
                    .join(format!("spark-core_{scala}-{version}.jar")),
                "",
            )
            .unwrap();
        }
        let java = dir.path().join("java");
        std::fs::write(&java, FAKE_JAVA).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&java, std::fs::Permissions::from_mode(0o755)).unwrap();
        Stage { dir }
    }

    pub fn home(&self, version: &str) -> PathBuf {
        self.dir.path().join(format!("spark-{version}"))
    }

    pub fn java(&self) -> PathBuf {
        self.dir.path().join("java")
    }

    pub fn work_dir(&self, worker: &str) -> PathBuf {
        self.dir.path().join(format!("work-{worker}"))
    }
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_pacer-proxy")
}

pub fn spawn(args: &[String], log: &Path) -> Process {
    let child = Command::new(binary())
        .args(args)
        .env_remove("EXTERNAL_SPARK_CONF_DIR")
        .env_remove("EXTERNAL_SPARK_HOME")
        .stdout(std::fs::File::create(log).unwrap())
        .stderr(std::fs::File::create(log.with_extension("err")).unwrap())
        .spawn()
        .unwrap();
    Process {
        child,
        log: log.with_extension("err"),
    }
}

pub const TTL_MS: u64 = 1_500;

pub fn start_worker(redis: &Redis, stage: &Stage, host: &str, cores: u32) -> (Process, String) {
    let port = free_port();
    let id = format!("{host}:{port}");
    let mut args = redis.args();
    args.extend([
        "--set".to_string(),
        format!("registry.ttl.ms={TTL_MS}"),
        "--set".into(),
        format!("worker.java={}", stage.java().display()),
        "--set".into(),
        "worker.stop.grace.ms=1000".into(),
        "worker".into(),
        "--host".into(),
        host.into(),
        "--port".into(),
        port.to_string(),
        "--cores".into(),
        cores.to_string(),
        "--memory".into(),
        "4g".into(),
        "--spark-home".into(),
        stage.home("3.5.9").display().to_string(),
        "--spark-home".into(),
        stage.home("4.0.5").display().to_string(),
        "--work-dir".into(),
        stage.work_dir(host).display().to_string(),
    ]);
    let process = spawn(&args, &stage.dir.path().join(format!("worker-{host}.log")));
    let mut registry = redis.registry();
    wait_for("the worker's registration", Duration::from_secs(20), || {
        registry
            .workers()
            .is_ok_and(|w| w.iter().any(|w| w.id == id))
    });
    (process, id)
}

pub fn start_dispatcher(redis: &Redis, stage: &Stage, selector: &str) -> (Process, String) {
    let port = free_port();
    let mut args = redis.args();
    args.extend([
        "--set".to_string(),
        format!("registry.ttl.ms={TTL_MS}"),
        "dispatcher".into(),
        "--port".into(),
        port.to_string(),
        "--selector".into(),
        selector.into(),
    ]);
    let process = spawn(&args, &stage.dir.path().join("dispatcher.log"));
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let mut registry = redis.registry();
    wait_for(
        "the dispatcher's registration",
        Duration::from_secs(20),
        || {
            registry
                .dispatchers()
                .is_ok_and(|d| d.iter().any(|d| d.endpoint == endpoint))
        },
    );
    (process, endpoint)
}

pub fn client(redis: &Redis) -> DispatcherClient {
    DispatcherClient::new(None, Some(&redis.settings), Duration::from_secs(15)).unwrap()
}

pub fn acquire(count: u32, known_ids: &[&str]) -> DispatcherRequest {
    DispatcherRequest::Acquire(Acquire {
        app_id: APP.into(),
        driver_url: driver_url(),
        spark_version: "3.5".into(),
        count,
        cores: 1,
        memory_mb: 512,
        known_ids: known_ids.iter().map(|s| s.to_string()).collect(),
    })
}

/// A driver URL whose port accepts connections for as long as the test runs.
pub fn driver_url() -> String {
    use std::sync::OnceLock;
    static DRIVER: OnceLock<std::net::TcpListener> = OnceLock::new();
    let listener = DRIVER.get_or_init(|| std::net::TcpListener::bind("127.0.0.1:0").unwrap());
    format!(
        "spark://CoarseGrainedScheduler@127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    )
}

pub fn placed(reply: DispatcherReply) -> Vec<(String, String)> {
    match reply {
        DispatcherReply::Placed { executors, .. } => executors
            .into_iter()
            .map(|p| (p.executor_id, p.worker_id))
            .collect(),
        other => panic!("expected placements, got {other:?}"),
    }
}

pub fn worker_record(redis: &Redis, id: &str) -> Option<WorkerRecord> {
    redis
        .registry()
        .workers()
        .ok()?
        .into_iter()
        .find(|w| w.id == id)
}

pub fn alive(pid: u32) -> bool {
    // Zombies count as gone: /proc says their state is Z.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
        Err(_) => false,
    }
}
