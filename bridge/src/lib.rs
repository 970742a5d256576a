//! pacer-bridge: the recommendation service for Pacer and for listeners written for the
//! original Scala listener. It serves many applications at once over ZeroMQ, keeps their run
//! history in SQLite and recommends scale-outs with a runtime-target policy.

pub mod history;
pub mod loadgen;
pub mod logger;
pub mod model;
pub mod policy;
pub mod replay;
pub mod server;
pub mod stats;
pub mod store;
pub mod trace;
