//! The client side of the request-reply transport (feature `transport`): a ZeroMQ REQ socket
//! with lazy-pirate recovery. When a reply is lost, the socket is closed and a fresh one
//! connected, since a REQ socket waiting for a lost reply is stuck. The listener's bridge client
//! and the external-executor clients (driver → dispatcher, dispatcher → worker) all use it.

use std::time::{Duration, Instant};

/// Replies are polled in slices this long so that shutdown is noticed promptly.
const POLL_SLICE: Duration = Duration::from_millis(50);

pub enum Exchange {
    Reply(Vec<u8>),
    TimedOut,
    /// The socket could not be created, connected or written to.
    Failed(String),
    /// `abort` said to stop.
    Aborted,
}

pub struct Connection {
    context: zmq::Context,
    address: String,
    socket: Option<zmq::Socket>,
}

impl Connection {
    pub fn new(address: &str) -> Connection {
        Connection::with_context(zmq::Context::new(), address)
    }

    /// A connection on a shared context (one process talking to many peers).
    pub fn with_context(context: zmq::Context, address: &str) -> Connection {
        Connection {
            context,
            address: address.to_string(),
            socket: None,
        }
    }

    fn socket(&mut self) -> Result<&zmq::Socket, zmq::Error> {
        if self.socket.is_none() {
            let socket = self.context.socket(zmq::REQ)?;
            // Shutdown never waits for unsent messages.
            socket.set_linger(0)?;
            socket.connect(&self.address)?;
            self.socket = Some(socket);
        }
        Ok(self.socket.as_ref().expect("socket was just created"))
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// Closes the socket; the next exchange connects a fresh one.
    pub fn reset(&mut self) {
        self.socket = None;
    }

    /// Sends one request and waits up to `timeout` for its reply, checking `abort` between
    /// poll slices. After anything but a reply the socket is reset.
    pub fn exchange(
        &mut self,
        request: &[u8],
        timeout: Duration,
        abort: &dyn Fn() -> bool,
    ) -> Exchange {
        let outcome = self.try_exchange(request, timeout, abort);
        if !matches!(outcome, Exchange::Reply(_)) {
            self.reset();
        }
        outcome
    }

    fn try_exchange(
        &mut self,
        request: &[u8],
        timeout: Duration,
        abort: &dyn Fn() -> bool,
    ) -> Exchange {
        let deadline = Instant::now() + timeout;
        let socket = match self.socket() {
            Ok(s) => s,
            Err(e) => return Exchange::Failed(format!("cannot connect to {}: {e}", self.address)),
        };
        // Without a peer the message waits in the connection's pipe until the peer appears,
        // so a send only fails when that pipe is full.
        loop {
            match socket.send(request, zmq::DONTWAIT) {
                Ok(()) => break,
                Err(zmq::Error::EAGAIN) => {}
                Err(e) => return Exchange::Failed(format!("cannot send to {}: {e}", self.address)),
            }
            if abort() {
                return Exchange::Aborted;
            }
            if Instant::now() >= deadline {
                return Exchange::TimedOut;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        loop {
            if abort() {
                return Exchange::Aborted;
            }
            let now = Instant::now();
            if now >= deadline {
                return Exchange::TimedOut;
            }
            let slice = (deadline - now).min(POLL_SLICE);
            match socket.poll(zmq::POLLIN, slice.as_millis().max(1) as i64) {
                Ok(0) => continue,
                Ok(_) => {}
                Err(e) => return Exchange::Failed(format!("cannot poll {}: {e}", self.address)),
            }
            match socket.recv_multipart(zmq::DONTWAIT) {
                // A REP peer sends one frame; if a peer sends more, the last one is the body.
                Ok(mut frames) => return Exchange::Reply(frames.pop().unwrap_or_default()),
                Err(zmq::Error::EAGAIN) => continue,
                Err(e) => {
                    return Exchange::Failed(format!("cannot receive from {}: {e}", self.address))
                }
            }
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // The socket must be closed before its context terminates.
        self.socket = None;
    }
}
