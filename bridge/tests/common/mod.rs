//! A real server on loopback with a temporary database, and real ZeroMQ clients.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use pacer_bridge::policy::{self, Policy};
use pacer_bridge::server::{self, RunningServer, ServerConfig};
use pacer_protocol::{samples, Codec};
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

/// A sample message of `protocol/samples/` with `changes` merged into its payload.
fn sample(text: &str, changes: Value) -> Value {
    let mut message: Value = serde_json::from_str(text).unwrap();
    let payload = message["payload"].as_object_mut().unwrap();
    for (field, value) in changes.as_object().unwrap() {
        payload.insert(field.clone(), value.clone());
    }
    message
}

pub fn app_start(name: &str, adaptive: bool, target_ms: i64, time: i64) -> Value {
    let mut message = sample(
        samples::APPLICATION_START,
        json!({"application_id": format!("app-{time}"), "app_name": name, "app_time": time,
               "is_adaptive": adaptive, "is_training": false}),
    );
    let specs = &mut message["payload"]["app_specs"];
    specs["algorithm_name"] = json!(name);
    specs["algorithm_args"] = json!([]);
    specs["target_runtime"] = json!(target_ms);
    specs["min_executors"] = json!(2);
    specs["max_executors"] = json!(10);
    message
}

pub fn job_start(id: &str, job: i64, time: i64, executors: i64) -> Value {
    sample(
        samples::JOB_START,
        json!({"app_event_id": id, "app_time": time, "job_id": job, "num_executors": executors}),
    )
}

/// A JOB_END with one stage that took the job's last 10 ms.
pub fn job_end(id: &str, job: i64, time: i64, executors: i64) -> Value {
    let mut message = sample(
        samples::JOB_END,
        json!({"app_event_id": id, "app_time": time, "job_id": job, "num_executors": executors,
               "rescaling_time_ratio": 0.0}),
    );
    let stages = message["payload"]["stages"].as_object_mut().unwrap();
    let mut stage = stages.values().next().unwrap().clone();
    for (field, value) in [
        ("stage_id", json!(job.to_string())),
        ("parent_stage_ids", json!([])),
        ("start_time", json!(time - 10)),
        ("end_time", json!(time)),
        ("start_scale_out", json!(executors)),
        ("end_scale_out", json!(executors)),
    ] {
        stage[field] = value;
    }
    stages.clear();
    stages.insert(job.to_string(), stage);
    message
}

pub fn app_end(id: &str, time: i64, executors: i64) -> Value {
    sample(
        samples::APPLICATION_END,
        json!({"app_event_id": id, "app_time": time, "num_executors": executors}),
    )
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
