//! The driver's side of the pool: find a dispatcher (an explicit `dispatcher.address`, else the
//! registry) and exchange one request at a time with it. A dispatcher that does not answer is
//! forgotten, so the next exchange looks it up again (a restarted or another dispatcher).

use std::time::Duration;

use pacer_protocol::transport::{Connection, Exchange};

use crate::conf::RedisSettings;
use crate::registry::Registry;
use crate::wire::{self, DispatcherReply, DispatcherRequest};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// No dispatcher is configured or registered.
    NoDispatcher(String),
    /// The dispatcher did not answer in time, or the socket failed.
    Unreachable(String),
    BadReply(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::NoDispatcher(why) | ClientError::Unreachable(why) => f.write_str(why),
            ClientError::BadReply(why) => write!(f, "unusable reply from the dispatcher: {why}"),
        }
    }
}

impl std::error::Error for ClientError {}

pub struct DispatcherClient {
    explicit: Option<String>,
    registry: Option<Registry>,
    connection: Option<Connection>,
    timeout: Duration,
}

impl DispatcherClient {
    pub fn new(
        explicit: Option<String>,
        redis: Option<&RedisSettings>,
        timeout: Duration,
    ) -> Result<DispatcherClient, ClientError> {
        let registry = match redis {
            Some(settings) => Some(
                Registry::new(settings).map_err(|e| ClientError::NoDispatcher(e.to_string()))?,
            ),
            None => None,
        };
        if explicit.is_none() && registry.is_none() {
            return Err(ClientError::NoDispatcher(
                "neither dispatcher.address nor redis.host is set".into(),
            ));
        }
        Ok(DispatcherClient {
            explicit,
            registry,
            connection: None,
            timeout,
        })
    }

    /// The endpoint in use, once one was found.
    pub fn endpoint(&self) -> Option<&str> {
        self.connection.as_ref().map(Connection::address)
    }

    fn connect(&mut self) -> Result<&mut Connection, ClientError> {
        if self.connection.is_none() {
            let endpoint = match (&self.explicit, &mut self.registry) {
                (Some(address), _) => address.clone(),
                (None, Some(registry)) => {
                    let mut dispatchers = registry
                        .dispatchers()
                        .map_err(|e| ClientError::NoDispatcher(e.to_string()))?;
                    // The one heard from last is the most likely alive.
                    dispatchers.sort_by_key(|d| std::cmp::Reverse(d.heartbeat_ms));
                    let first = dispatchers.into_iter().next().ok_or_else(|| {
                        ClientError::NoDispatcher(format!(
                            "no dispatcher is registered in {}",
                            registry.settings()
                        ))
                    })?;
                    first.endpoint
                }
                (None, None) => unreachable!("checked in new"),
            };
            self.connection = Some(Connection::new(&endpoint));
        }
        Ok(self.connection.as_mut().expect("connected above"))
    }

    pub fn exchange(
        &mut self,
        request: &DispatcherRequest,
        abort: &dyn Fn() -> bool,
    ) -> Result<DispatcherReply, ClientError> {
        let timeout = self.timeout;
        let connection = self.connect()?;
        let endpoint = connection.address().to_string();
        let outcome = connection.exchange(&wire::encode(request), timeout, abort);
        let reply = match outcome {
            Exchange::Reply(bytes) => {
                return wire::decode(&bytes).map_err(|e| ClientError::BadReply(e.to_string()))
            }
            Exchange::TimedOut => ClientError::Unreachable(format!(
                "dispatcher {endpoint} did not answer within {} ms",
                timeout.as_millis()
            )),
            Exchange::Failed(e) => ClientError::Unreachable(e),
            Exchange::Aborted => ClientError::Unreachable("stopped".into()),
        };
        self.connection = None;
        Err(reply)
    }
}
