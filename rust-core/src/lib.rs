//! Pacer's native core: runtime-target autoscaling for Apache Spark.
//!
//! The JVM shim reports Spark listener events through [`Core`]; the core aggregates them per
//! job and stage, talks to the recommendation service (the bridge) over ZeroMQ on its own
//! thread, and turns recommendations into executor [`Action`]s the shim applies.

pub mod aggregation;
pub mod client;
pub mod config;
pub mod control;
mod core;
mod jvm;
pub mod logging;

pub use crate::aggregation::{RddTotals, StageCompletion, StageInfo, TaskMetricTotals};
pub use crate::config::{Config, ConfigError};
pub use crate::control::Action;
pub use crate::core::{split_algorithm, Core, CoreError, Stats};
pub use crate::logging::LogRecord;
