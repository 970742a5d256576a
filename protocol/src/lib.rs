//! The wire protocol between a Spark listener (Pacer's or the original Scala one) and a
//! recommendation service (a bridge), as `docs/PROTOCOL.md` specifies it.
//!
//! # Layout
//! - [`messages`]: the envelope `{"event_type", "payload"}`, its four payloads, the reply.
//! - [`codec`]: JSON and MessagePack, codec detection, and decoding whose errors name the field.
//! - [`error`]: [`ProtocolError`], the one error type of reading and writing messages.
//! - [`memory`]: Spark's memory sizes (`512m`, `4g`) in MiB.
//! - [`mod@ratio`]: the division rule every ratio on the wire follows.
//! - [`samples`]: one sample message of each kind (`protocol/samples/*.json`), embedded.
//! - `transport` (feature `transport`): the REQ socket with lazy-pirate recovery that every
//!   Pacer client uses.

pub mod codec;
pub mod error;
pub mod memory;
pub mod messages;
pub mod ratio;
pub mod samples;
#[cfg(feature = "transport")]
pub mod transport;

pub use codec::{read_event, Codec};
pub use error::ProtocolError;
pub use memory::memory_mib;
pub use messages::{
    AppSpecs, ApplicationEnd, ApplicationStart, EnvironmentSpecs, Event, EventType, JobEnd,
    JobStart, Reply, ResourceSpecs, Stage, StageMetrics,
};
pub use ratio::ratio;
