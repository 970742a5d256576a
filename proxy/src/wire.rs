//! The external pool's messages (JSON, one object per ZeroMQ frame, named by its only key:
//! `{"acquire": {...}}`, so that a decoding error names the field, `acquire.count`):
//! driver → dispatcher ([`DispatcherRequest`] / [`DispatcherReply`]), dispatcher → worker
//! ([`WorkerRequest`] / [`WorkerReply`]), and the records kept in the registry. docs/EXTERNAL.md
//! lists them with examples.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// What a driver asks of its dispatcher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DispatcherRequest {
    /// Start `count` executors for a running application.
    Acquire(Acquire),
    /// Stop these executors of the application (Spark has been told to kill them).
    Release {
        app_id: String,
        executor_ids: Vec<String>,
    },
    /// The application ended: stop all its executors.
    AppEnded { app_id: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acquire {
    pub app_id: String,
    /// `spark://CoarseGrainedScheduler@host:port`.
    pub driver_url: String,
    /// `major.minor` of the driver's Spark: the worker starts the executor from a home of it.
    pub spark_version: String,
    pub count: u32,
    pub cores: u32,
    pub memory_mb: u64,
    /// External executor ids the driver already knows (registered or starting): new ids are
    /// above them, also after a dispatcher restart.
    #[serde(default)]
    pub known_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DispatcherReply {
    /// The executors started; `unplaced` of the requested ones found no worker (`reason`).
    Placed {
        executors: Vec<Placement>,
        unplaced: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Released {
        executor_ids: Vec<String>,
    },
    Error {
        message: String,
    },
}

/// One executor started on a worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub executor_id: String,
    pub worker_id: String,
    pub host: String,
}

/// What a dispatcher asks of a worker. Unknown fields are refused: a worker acts on these
/// fields and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum WorkerRequest {
    Launch(Launch),
    Stop {
        executor_ids: Vec<String>,
    },
    StopApp {
        app_id: String,
    },
    /// The worker's current record (as it registers it).
    State {},
}

/// Start one executor. The worker validates every field and takes nothing else from the
/// message: the class, the Spark home, the host and the command line are its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Launch {
    pub app_id: String,
    pub driver_url: String,
    pub executor_id: String,
    pub cores: u32,
    pub memory_mb: u64,
    pub spark_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerReply {
    Launched { executor_id: String, pid: u32 },
    Refused { reason: String },
    Stopped { executor_ids: Vec<String> },
    State(WorkerRecord),
    Error { message: String },
}

/// A worker as the registry holds it (`pacer:worker:<id>`), refreshed with every heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerRecord {
    pub id: String,
    pub host: String,
    /// `tcp://host:port` of its socket.
    pub endpoint: String,
    pub cores: u32,
    pub memory_mb: u64,
    /// Spark `major.minor` → home the worker starts executors from.
    pub spark_homes: BTreeMap<String, String>,
    pub executors: Vec<ExecutorRecord>,
    pub started_ms: i64,
    pub heartbeat_ms: i64,
}

impl WorkerRecord {
    pub fn used_cores(&self) -> u32 {
        self.executors.iter().map(|e| e.cores).sum()
    }

    pub fn free_cores(&self) -> u32 {
        self.cores.saturating_sub(self.used_cores())
    }

    pub fn free_memory_mb(&self) -> u64 {
        let used: u64 = self.executors.iter().map(|e| e.memory_mb).sum();
        self.memory_mb.saturating_sub(used)
    }
}

/// An executor process a worker runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutorRecord {
    pub executor_id: String,
    pub app_id: String,
    pub cores: u32,
    pub memory_mb: u64,
    pub pid: u32,
    pub started_ms: i64,
}

/// A dispatcher as the registry holds it (`pacer:dispatcher:<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatcherRecord {
    pub id: String,
    pub endpoint: String,
    pub selector: String,
    pub started_ms: i64,
    pub heartbeat_ms: i64,
}

/// A message that could not be read, naming the field (`executors[0].pid`) where there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub String);

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WireError {}

pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    serde_json::to_vec(message).expect("wire messages always serialize")
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            WireError(e.inner().to_string())
        } else {
            WireError(format!("{path}: {}", e.inner()))
        }
    })?;
    deserializer
        .end()
        .map_err(|e| WireError(format!("trailing data: {e}")))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_tagged_objects() {
        let release = DispatcherRequest::Release {
            app_id: "app-1".into(),
            executor_ids: vec!["1000000".into()],
        };
        assert_eq!(
            String::from_utf8(encode(&release)).unwrap(),
            r#"{"release":{"app_id":"app-1","executor_ids":["1000000"]}}"#
        );
        assert_eq!(decode::<DispatcherRequest>(&encode(&release)), Ok(release));
        assert_eq!(
            decode::<WorkerRequest>(br#"{"state":{}}"#),
            Ok(WorkerRequest::State {})
        );
    }

    #[test]
    fn errors_name_the_field() {
        let e = decode::<DispatcherRequest>(
            br#"{"acquire":{"app_id":"a","driver_url":"spark://x","spark_version":"3.5","count":-1,"cores":1,"memory_mb":512}}"#,
        )
        .unwrap_err();
        assert!(e.0.starts_with("acquire.count: "), "{e}");
        let e = decode::<WorkerRequest>(br#"{"format_disk":{}}"#).unwrap_err();
        assert!(e.0.contains("unknown variant `format_disk`"), "{e}");
    }

    #[test]
    fn free_resources_of_a_worker() {
        let executor = |cores, memory_mb| ExecutorRecord {
            executor_id: "1".into(),
            app_id: "a".into(),
            cores,
            memory_mb,
            pid: 1,
            started_ms: 0,
        };
        let w = WorkerRecord {
            id: "w".into(),
            host: "h".into(),
            endpoint: "tcp://h:1".into(),
            cores: 4,
            memory_mb: 4096,
            spark_homes: BTreeMap::new(),
            executors: vec![executor(1, 1024), executor(2, 512)],
            started_ms: 0,
            heartbeat_ms: 0,
        };
        assert_eq!(
            (w.used_cores(), w.free_cores(), w.free_memory_mb()),
            (3, 1, 2560)
        );
    }
}
