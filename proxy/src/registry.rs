//! The registry center: Redis. Every entry expires unless its owner refreshes it, so a
//! dispatcher or worker that dies disappears within one TTL without anybody cleaning up.
//!
//! | key | value | lifetime |
//! |---|---|---|
//! | `pacer:dispatcher:<id>` | [`DispatcherRecord`] (JSON) | TTL, refreshed every third of it |
//! | `pacer:worker:<id>` | [`WorkerRecord`] (JSON) | TTL, refreshed every third of it |
//! | `pacer:app:<app id>:executor-seq` | counter of external executor ids | 7 days after its last use |
//!
//! A connection that fails is dropped and made again at the next call, so a Redis restart
//! costs the calls made while it is down and nothing after.

use std::time::Duration;

use redis::{ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::conf::RedisSettings;
use crate::wire::{DispatcherRecord, WorkerRecord};

const PREFIX: &str = "pacer:";
/// Connect, read and write timeout of every Redis call: the registry is never worth a stall.
const CALL_TIMEOUT: Duration = Duration::from_secs(1);
const SEQUENCE_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryError(pub String);

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RegistryError {}

pub struct Registry {
    settings: RedisSettings,
    client: redis::Client,
    connection: Option<redis::Connection>,
}

impl Registry {
    pub fn new(settings: &RedisSettings) -> Result<Registry, RegistryError> {
        let mut redis_info = RedisConnectionInfo::default();
        if let Some(password) = &settings.password {
            redis_info = redis_info.set_password(password);
        }
        let info = ConnectionAddr::Tcp(settings.host.clone(), settings.port)
            .into_connection_info()
            .map_err(|e| RegistryError(format!("registry {settings}: {e}")))?
            .set_redis_settings(redis_info);
        let client = redis::Client::open(info)
            .map_err(|e| RegistryError(format!("registry {settings}: {e}")))?;
        Ok(Registry {
            settings: settings.clone(),
            client,
            connection: None,
        })
    }

    pub fn settings(&self) -> &RedisSettings {
        &self.settings
    }

    fn call<T>(
        &mut self,
        what: &str,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, RegistryError> {
        let outcome = (|| {
            if self.connection.is_none() {
                let connection = self.client.get_connection_with_timeout(CALL_TIMEOUT)?;
                connection.set_read_timeout(Some(CALL_TIMEOUT))?;
                connection.set_write_timeout(Some(CALL_TIMEOUT))?;
                self.connection = Some(connection);
            }
            f(self.connection.as_mut().expect("connected above"))
        })();
        outcome.map_err(|e| {
            self.connection = None;
            RegistryError(format!("registry {}: {what}: {e}", self.settings))
        })
    }

    /// PING: is the registry reachable (and the password right)?
    pub fn ping(&mut self) -> Result<(), RegistryError> {
        self.call("PING", |c| redis::cmd("PING").query::<String>(c).map(drop))
    }

    fn put<T: Serialize>(
        &mut self,
        key: String,
        value: &T,
        ttl: Duration,
    ) -> Result<(), RegistryError> {
        let json = serde_json::to_string(value).expect("records serialize");
        let ttl_ms = ttl.as_millis().max(1) as u64;
        self.call("SET", |c| {
            redis::cmd("SET")
                .arg(&key)
                .arg(json)
                .arg("PX")
                .arg(ttl_ms)
                .query::<()>(c)
        })
    }

    fn delete(&mut self, key: String) -> Result<(), RegistryError> {
        self.call("DEL", |c| redis::cmd("DEL").arg(&key).query::<()>(c))
    }

    /// Every live entry under `kind`; entries that do not decode are skipped with a warning.
    fn list<T: DeserializeOwned>(&mut self, kind: &str) -> Result<Vec<T>, RegistryError> {
        let pattern = format!("{PREFIX}{kind}:*");
        let values: Vec<Option<String>> = self.call("SCAN", |c| {
            let mut keys: Vec<String> = Vec::new();
            let mut cursor: u64 = 0;
            loop {
                let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(500)
                    .query(c)?;
                keys.extend(batch);
                if next == 0 {
                    break;
                }
                cursor = next;
            }
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            keys.sort();
            keys.dedup();
            redis::cmd("MGET").arg(&keys).query(c)
        })?;
        Ok(values
            .into_iter()
            // An entry may expire between SCAN and MGET.
            .flatten()
            .filter_map(|json| match serde_json::from_str(&json) {
                Ok(record) => Some(record),
                Err(e) => {
                    log::warn!("registry entry under {pattern} ignored: {e}");
                    None
                }
            })
            .collect())
    }

    pub fn put_worker(
        &mut self,
        record: &WorkerRecord,
        ttl: Duration,
    ) -> Result<(), RegistryError> {
        self.put(worker_key(&record.id), record, ttl)
    }

    pub fn remove_worker(&mut self, id: &str) -> Result<(), RegistryError> {
        self.delete(worker_key(id))
    }

    pub fn workers(&mut self) -> Result<Vec<WorkerRecord>, RegistryError> {
        self.list("worker")
    }

    pub fn put_dispatcher(
        &mut self,
        record: &DispatcherRecord,
        ttl: Duration,
    ) -> Result<(), RegistryError> {
        self.put(format!("{PREFIX}dispatcher:{}", record.id), record, ttl)
    }

    pub fn remove_dispatcher(&mut self, id: &str) -> Result<(), RegistryError> {
        self.delete(format!("{PREFIX}dispatcher:{id}"))
    }

    pub fn dispatchers(&mut self) -> Result<Vec<DispatcherRecord>, RegistryError> {
        self.list("dispatcher")
    }

    /// The next number of the application's external executor sequence (1, 2, …), shared by
    /// every dispatcher the application talks to.
    pub fn next_executor_number(&mut self, app_id: &str) -> Result<u64, RegistryError> {
        let key = format!("{PREFIX}app:{app_id}:executor-seq");
        let lifetime_ms = SEQUENCE_LIFETIME.as_millis() as u64;
        self.call("INCR", |c| {
            let (n, _): (u64, i64) = redis::pipe()
                .atomic()
                .cmd("INCR")
                .arg(&key)
                .cmd("PEXPIRE")
                .arg(&key)
                .arg(lifetime_ms)
                .query(c)?;
            Ok(n)
        })
    }
}

fn worker_key(id: &str) -> String {
    format!("{PREFIX}worker:{id}")
}
