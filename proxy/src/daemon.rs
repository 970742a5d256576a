//! What the dispatcher and the worker both are: a ROUTER socket answering one request at a
//! time, periodic work, and a registry entry kept alive — with a registry outage logged once
//! when it starts and once when it ends.

use std::time::{Duration, Instant};

use crate::registry::{Registry, RegistryError};

/// How long one wait for a request lasts; bounds how late periodic work and a stop happen.
pub const POLL: Duration = Duration::from_millis(100);

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A request received on a ROUTER socket: the routing frames to answer it with, and its body.
pub struct Request {
    envelope: Vec<Vec<u8>>,
    pub body: Vec<u8>,
}

pub struct Router {
    socket: zmq::Socket,
    pub endpoint: String,
}

impl Router {
    pub fn bind(context: &zmq::Context, endpoint: &str) -> Result<Router, String> {
        let socket = context
            .socket(zmq::ROUTER)
            .map_err(|e| format!("cannot create a socket: {e}"))?;
        socket
            .set_linger(0)
            .map_err(|e| format!("cannot configure the socket: {e}"))?;
        socket
            .bind(endpoint)
            .map_err(|e| format!("cannot bind {endpoint}: {e}"))?;
        Ok(Router {
            socket,
            endpoint: endpoint.to_string(),
        })
    }

    /// The next request, waiting up to `timeout`.
    pub fn next(&self, timeout: Duration) -> Option<Request> {
        match self.socket.poll(zmq::POLLIN, timeout.as_millis() as i64) {
            Ok(n) if n > 0 => {}
            _ => return None,
        }
        let mut frames = self.socket.recv_multipart(zmq::DONTWAIT).ok()?;
        // REQ peers send [identity, "", body]; DEALER peers may omit the empty delimiter.
        let body = frames.pop()?;
        if frames.is_empty() {
            return None;
        }
        Some(Request {
            envelope: frames,
            body,
        })
    }

    pub fn reply(&self, request: Request, body: &[u8]) {
        let mut frames = request.envelope;
        frames.push(body.to_vec());
        if let Err(e) = self.socket.send_multipart(frames, zmq::DONTWAIT) {
            log::warn!("reply not sent: {e}");
        }
    }
}

/// Work due every `period`, first at once.
pub struct Every {
    period: Duration,
    next: Instant,
}

impl Every {
    pub fn new(period: Duration) -> Every {
        Every {
            period,
            next: Instant::now(),
        }
    }

    pub fn due(&mut self) -> bool {
        let now = Instant::now();
        if now < self.next {
            return false;
        }
        self.next = now + self.period;
        true
    }

    /// Makes the work due at the next check.
    pub fn now(&mut self) {
        self.next = Instant::now();
    }
}

/// A registry this daemon keeps its entry in, with outages logged once each way.
pub struct RegistryLink {
    pub registry: Registry,
    /// Why the last call failed, while it is failing.
    outage: Option<String>,
    /// What the daemon does meanwhile, for the log line.
    meanwhile: &'static str,
}

impl RegistryLink {
    pub fn new(registry: Registry, meanwhile: &'static str) -> RegistryLink {
        RegistryLink {
            registry,
            outage: None,
            meanwhile,
        }
    }

    pub fn is_down(&self) -> bool {
        self.outage.is_some()
    }

    /// Runs one registry call and logs the transitions between reachable and not.
    pub fn call<T>(
        &mut self,
        f: impl FnOnce(&mut Registry) -> Result<T, RegistryError>,
    ) -> Option<T> {
        match f(&mut self.registry) {
            Ok(value) => {
                if self.outage.take().is_some() {
                    log::info!("registry {} reachable again", self.registry.settings());
                }
                Some(value)
            }
            Err(e) => {
                if self.outage.is_none() {
                    log::warn!("{e}; {}", self.meanwhile);
                }
                self.outage = Some(e.to_string());
                None
            }
        }
    }
}
