//! A real ZeroMQ REP server on loopback standing in for the bridge, with scripted replies.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::{json, Value};

use pacer_protocol::Codec;

/// What the stand-in does with one request.
pub enum Response {
    /// Reply with this JSON value, encoded in the request's codec.
    Value(Value),
    /// Reply with these exact bytes.
    Raw(Vec<u8>),
    /// Wait, then reply (the client may have given up by then).
    Late(Duration, Value),
}

pub type Script = Box<dyn Fn(&Value) -> Response + Send + 'static>;

pub struct FakeBridge {
    pub endpoint: String,
    received: Arc<Mutex<Vec<Value>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Replies with `app_event_id` = `id` and echoes `num_executors` (APPLICATION_START gets `start`).
pub fn echo_script(id: &'static str, start: i64) -> Script {
    Box::new(move |message| {
        let n = message["payload"]["num_executors"]
            .as_i64()
            .unwrap_or(start);
        Response::Value(json!({"app_event_id": id, "recommended_scale_out": n}))
    })
}

impl FakeBridge {
    /// Binds `endpoint` (`tcp://127.0.0.1:*` picks a free port).
    pub fn start(endpoint: &str, script: Script) -> FakeBridge {
        let context = zmq::Context::new();
        let socket = context.socket(zmq::REP).unwrap();
        socket.set_linger(0).unwrap();
        socket.bind(endpoint).unwrap();
        let endpoint = socket.get_last_endpoint().unwrap().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let received = received.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if socket.poll(zmq::POLLIN, 20).unwrap_or(0) == 0 {
                        continue;
                    }
                    let Ok(bytes) = socket.recv_bytes(0) else {
                        continue;
                    };
                    let codec = Codec::detect(&bytes).expect("request is JSON or MessagePack");
                    let message: Value = match codec {
                        Codec::Json => serde_json::from_slice(&bytes).unwrap(),
                        Codec::MessagePack => rmp_serde::from_slice(&bytes).unwrap(),
                    };
                    received.lock().push(message.clone());
                    let encode = |v: &Value| match codec {
                        Codec::Json => serde_json::to_vec(v).unwrap(),
                        Codec::MessagePack => rmp_serde::to_vec_named(v).unwrap(),
                    };
                    let reply = match script(&message) {
                        Response::Value(v) => encode(&v),
                        Response::Raw(bytes) => bytes,
                        Response::Late(delay, v) => {
                            std::thread::sleep(delay);
                            encode(&v)
                        }
                    };
                    let _ = socket.send(reply, 0);
                }
                drop(socket);
                drop(context);
            })
        };
        FakeBridge {
            endpoint,
            received,
            stop,
            thread: Some(thread),
        }
    }

    pub fn messages(&self) -> Vec<Value> {
        self.received.lock().clone()
    }

    pub fn event_types(&self) -> Vec<String> {
        self.messages()
            .iter()
            .map(|m| m["event_type"].as_str().unwrap_or("?").to_string())
            .collect()
    }

    /// Waits until at least `n` messages arrived (panics after `timeout`).
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} messages, got {}: {:?}",
                messages.len(),
                self.event_types()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the server and closes its socket (the endpoint can be bound again).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for FakeBridge {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A free loopback endpoint nobody listens on. It is taken below the kernel's ephemeral
/// range, so a concurrent `tcp://127.0.0.1:*` bind elsewhere cannot be given the same port.
pub fn unused_endpoint() -> String {
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let base = 20_000 + (std::process::id() % 500) as u16 * 20;
    loop {
        let port = base + NEXT.fetch_add(1, Ordering::Relaxed) % 10_000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return format!("tcp://127.0.0.1:{port}");
        }
    }
}

/// Configuration pairs for a test core talking to `endpoint`.
pub fn config_pairs(endpoint: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = [
        ("bridgeServiceAddress", endpoint),
        ("minExecutors", "1"),
        ("maxExecutors", "8"),
        ("targetRuntime", "600000"),
        ("responseTimeoutMs", "2000"),
        ("executorRequestTimeoutMs", "50"),
        ("shutdownTimeoutMs", "500"),
    ]
    .into_iter()
    .map(|(k, v)| (format!("spark.customExtraListener.{k}"), v.to_string()))
    .collect();
    for (k, v) in extra {
        let raw = k.starts_with("spark.") || k.starts_with("pacer.");
        let key = if raw {
            k.to_string()
        } else {
            format!("spark.customExtraListener.{k}")
        };
        pairs.retain(|(existing, _)| existing != &key);
        pairs.push((key, v.to_string()));
    }
    pairs
}

pub fn core_for(endpoint: &str, extra: &[(&str, &str)]) -> pacer::Core {
    let config =
        pacer::Config::from_pairs_and_env(config_pairs(endpoint, extra), |_| None).unwrap();
    pacer::Core::new(config).unwrap()
}
