//! The language the services speak to each other: every domain event of the food-delivery system,
//! the envelope that carries it, and the topic it travels on.
//!
//! This crate is the only place an event type is defined. Services serialize and deserialize with
//! these types, so a change to an event is a change here, visible to every producer and consumer
//! at compile time. It does no I/O: the Kafka and database plumbing lives in `backbone`.

pub mod contract;
mod envelope;
mod events;
#[cfg(feature = "schema")]
pub mod schema;
pub mod text;
mod topic;
pub mod topology;
pub mod versions;

pub use envelope::{DecodeError, Decoded, Envelope, SCHEMA_VERSION};
pub use events::*;
pub use topic::{Topic, Topics};
