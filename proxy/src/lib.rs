//! pacer-proxy: external executors for Spark applications. Worker agents on any host start
//! real Spark executors (`CoarseGrainedExecutorBackend`) pointed at a running driver; a
//! dispatcher picks the worker of every placement; both are registered in Redis with entries
//! that expire unless refreshed. The driver's native core asks the dispatcher for executors
//! when its cluster manager cannot (or should not) provide them. docs/EXTERNAL.md.
//!
//! # Layout
//! - [`conf`]: `common.properties` (Spark-Proxy's keys and Pacer's), errors naming the key.
//! - [`wire`]: the messages driver → dispatcher → worker and the registry's records.
//! - [`registry`]: the Redis registry: entries with a TTL, the dispatcher lookup, id sequences.
//! - [`client`]: the driver's side: find the dispatcher, one exchange at a time.
//! - `selector` (feature `daemon`): `RANDOM`, `ROUND_ROBIN`, `LEAST_LOADED`, `PACK`.
//! - `dispatcher`, `worker`, `status` (feature `daemon`): the two daemons and the report.
//!
//! Without the `daemon` feature the library is what the driver's core links.

pub mod client;
pub mod conf;
#[cfg(feature = "daemon")]
pub mod daemon;
#[cfg(feature = "daemon")]
pub mod dispatcher;
pub mod registry;
#[cfg(feature = "daemon")]
pub mod selector;
#[cfg(feature = "daemon")]
pub mod status;
pub mod wire;
#[cfg(feature = "daemon")]
pub mod worker;
