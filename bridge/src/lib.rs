//! pacer-bridge: the recommendation service for Pacer and for listeners written for the
//! original Scala listener. It serves many applications at once over ZeroMQ, keeps their run
//! history in SQLite and recommends scale-outs with a runtime-target policy.
//!
//! # Layout
//! - [`server`]: the ZeroMQ ROUTER socket, decoding (`server::wire`), per-application ordering
//!   on worker threads (`server::dispatch`), the live runs (`server::service`).
//! - [`policy`]: the `Policy` trait and the policies `noop`, `fixed:N`, `ellis`, `ellis-abe`,
//!   `pacer`, with their shared decisions (exploration for profiling runs, fallbacks).
//! - [`model`]: runtime models of one job over scale-outs (Ernest, Bell, kernel regression).
//! - [`stats`]: quantiles, medians, durations grouped by job and scale-out.
//! - [`rng`]: the seeded generator of replay's delays and random profiling scale-outs.
//! - [`history`]: the run history the policies learn from.
//! - [`store`]: that history in SQLite (schema, rows, writer thread, queries).
//! - [`replay`]: policies on recorded traces against clairvoyant bounds (`replay`).
//! - [`trace`]: the job-level trace format (read, parse, export).
//! - [`loadgen`]: simulated applications against any bridge (`bench`).
//! - [`runs`], [`output`]: the `runs` listing and one run in detail (`--run`; what it derives,
//!   `runs::RunView`, the live view shows too), and how the command line prints reports.
//! - [`logger`]: log lines on standard error.
//! - [`metrics`]: the Prometheus metrics of `serve --http`.
//! - [`http`]: `serve --http`: metrics, health, and the live view of runs (axum, askama, plotters).
//!
//! The wire messages are the `pacer-protocol` crate's; `main.rs` only defines the command line.

pub mod history;
pub mod http;
pub mod loadgen;
pub mod logger;
pub mod metrics;
pub mod model;
pub mod output;
pub mod policy;
pub mod replay;
pub mod rng;
pub mod runs;
pub mod server;
pub mod stats;
pub mod store;
pub mod trace;
