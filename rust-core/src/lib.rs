//! Pacer's native core: runtime-target autoscaling for Apache Spark.
//!
//! The JVM shim reports Spark listener events through [`Core`]; the core aggregates them per
//! job and stage, talks to the recommendation service (the bridge) over ZeroMQ on its own
//! thread, and turns recommendations into executor [`Action`]s the shim applies.
//!
//! # Layout
//! - [`engine`]: [`Core`], the embeddable API tying the modules below together.
//! - [`config`]: `spark.customExtraListener.*` and the Spark keys read, with errors naming the
//!   key.
//! - [`aggregation`]: listener events → the facts of JOB_START / JOB_END (executors, stages,
//!   rescaling time).
//! - [`client`]: the bounded queue and the client thread with the REQ socket (lazy pirate).
//! - [`control`]: recommendations → `RequestTotal` / `Kill` actions, split between the cluster
//!   manager and the external pool.
//! - [`pool`]: the external pool's client thread (dispatcher), its bookkeeping and settings.
//! - [`logging`]: a `log` logger buffering records for the host to drain.
//! - `jvm`: the JNI entry points (argument conversion and one call each).
//!
//! The wire messages are the `pacer-protocol` crate's.

pub mod aggregation;
pub mod client;
pub mod config;
pub mod control;
pub mod engine;
mod jvm;
pub mod logging;
pub mod pool;

pub use crate::aggregation::{RddTotals, StageCompletion, StageInfo, TaskMetricTotals};
pub use crate::config::{Config, ConfigError};
pub use crate::control::Action;
pub use crate::engine::{split_algorithm, Core, CoreError, Stats};
pub use crate::logging::LogRecord;
