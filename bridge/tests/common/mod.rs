//! A real server on loopback with a temporary database, and real ZeroMQ clients.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use pacer::protocol::Codec;
use pacer_bridge::policy::{self, Policy};
use pacer_bridge::server::{self, RunningServer, ServerConfig};
use serde_json::{json, Value};

pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("pacer-bridge-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn start_with(policy: Arc<dyn Policy>, db: &Path, bind: &str) -> RunningServer {
    server::start(ServerConfig {
        bind: bind.into(),
        db: db.to_path_buf(),
        policy,
        max_message_bytes: 64 * 1024,
        workers: 4,
    })
    .unwrap()
}

pub fn start(policy: &str, db: &Path) -> RunningServer {
    start_with(policy::by_name(policy).unwrap(), db, "tcp://127.0.0.1:*")
}

/// A REQ client, as Pacer's listener and the original Scala listener are.
/// A socket of `kind` connected to `endpoint`: no linger, receives time out after `timeout`.
pub fn connected_socket(
    context: &zmq::Context,
    kind: zmq::SocketType,
    endpoint: &str,
    timeout: Duration,
) -> zmq::Socket {
    let socket = context.socket(kind).unwrap();
    socket.set_linger(0).unwrap();
    socket.set_rcvtimeo(timeout.as_millis() as i32).unwrap();
    socket.connect(endpoint).unwrap();
    socket
}

pub struct Client {
    _context: zmq::Context,
    socket: zmq::Socket,
    pub codec: Codec,
}

impl Client {
    pub fn connect(endpoint: &str) -> Client {
        Client::with_codec(endpoint, Codec::Json)
    }

    pub fn with_codec(endpoint: &str, codec: Codec) -> Client {
        let context = zmq::Context::new();
        let socket = connected_socket(&context, zmq::REQ, endpoint, TIMEOUT);
        Client {
            _context: context,
            socket,
            codec,
        }
    }

    pub fn raw(&self, bytes: &[u8]) -> Vec<u8> {
        self.socket.send(bytes, 0).unwrap();
        self.socket
            .recv_bytes(0)
            .expect("a reply within the timeout")
    }

    pub fn send(&self, message: &Value) -> Value {
        let bytes = match self.codec {
            Codec::Json => serde_json::to_vec(message).unwrap(),
            Codec::MessagePack => rmp_serde::to_vec_named(message).unwrap(),
        };
        let reply = self.raw(&bytes);
        match self.codec {
            Codec::Json => serde_json::from_slice(&reply).unwrap(),
            Codec::MessagePack => rmp_serde::from_slice(&reply).unwrap(),
        }
    }
}

pub fn app_start(name: &str, adaptive: bool, target_ms: i64, time: i64) -> Value {
    json!({"event_type": "APPLICATION_START", "payload": {
        "application_id": format!("app-{time}"), "app_name": name, "app_time": time,
        "is_adaptive": adaptive, "is_training": false,
        "app_specs": {"algorithm_name": name, "algorithm_args": [], "datasize_mb": 100,
                      "target_runtime": target_ms, "min_executors": 2, "max_executors": 10},
        "driver_specs": {"cores": 1, "memory": "1g", "memory_overhead": "102m"},
        "executor_specs": {"cores": 1, "memory": "1g", "memory_overhead": "102m"},
        "environment_specs": {"machine_type": "x86_64", "hadoop_version": "3.3.4",
                              "spark_version": "3.5.1", "scala_version": "2.12.18", "java_version": "17"}}})
}

pub fn job_start(id: &str, job: i64, time: i64, executors: i64) -> Value {
    json!({"event_type": "JOB_START", "payload": {
        "app_event_id": id, "app_time": time, "job_id": job, "num_executors": executors}})
}

pub fn job_end(id: &str, job: i64, time: i64, executors: i64) -> Value {
    json!({"event_type": "JOB_END", "payload": {
        "app_event_id": id, "app_time": time, "job_id": job, "num_executors": executors,
        "rescaling_time_ratio": 0.0,
        "stages": {job.to_string(): {
            "stage_id": job.to_string(), "stage_name": "map", "num_tasks": 4, "parent_stage_ids": [],
            "attempt_id": 0, "failure_reason": "", "start_time": time - 10, "end_time": time,
            "start_scale_out": executors, "end_scale_out": executors, "rescaling_time_ratio": 0.0,
            "rdd_num_partitions": 4, "rdd_num_cached_partitions": 0, "rdd_mem_size": 0, "rdd_disk_size": 0,
            "metrics": {"cpu_utilization": 0.5, "gc_time_ratio": 0.0, "shuffle_read_write_ratio": 0.0,
                        "input_output_ratio": 1.0, "memory_spill_ratio": 0.0}}}}})
}

pub fn app_end(id: &str, time: i64, executors: i64) -> Value {
    json!({"event_type": "APPLICATION_END", "payload": {
        "app_event_id": id, "app_time": time, "num_executors": executors}})
}

pub fn scale_out(reply: &Value) -> i64 {
    reply["recommended_scale_out"]
        .as_i64()
        .unwrap_or_else(|| panic!("no scale-out in {reply}"))
}

pub fn id(reply: &Value) -> String {
    reply["app_event_id"].as_str().unwrap().to_string()
}

/// Runs a whole application whose jobs take `duration(job, executors)` ms; returns its id and
/// the scale-out after each job.
pub fn run_app(
    client: &Client,
    name: &str,
    adaptive: bool,
    target_ms: i64,
    start_time: i64,
    jobs: i64,
    duration: impl Fn(i64, i64) -> i64,
) -> (String, Vec<i64>) {
    let reply = client.send(&app_start(name, adaptive, target_ms, start_time));
    let id = id(&reply);
    let mut executors = scale_out(&reply);
    let mut t = start_time;
    let mut history = vec![executors];
    for job in 0..jobs {
        client.send(&job_start(&id, job, t, executors));
        t += duration(job, executors);
        executors = scale_out(&client.send(&job_end(&id, job, t, executors)));
        history.push(executors);
    }
    client.send(&app_end(&id, t + 100, executors));
    (id, history)
}
