//! The contracts between the services, and what keeps them.
//!
//! - [`asyncapi`]: the events as an AsyncAPI 3 document — channels are the topics, messages the
//!   event types at each version this build reads, with their keys, headers and JSON Schemas —
//!   generated from `shared-events` and committed as `docs/asyncapi.json`; a test keeps the file
//!   equal to what this crate generates.
//! - [`compat`]: the comparison of that document with the one committed at a base revision, which
//!   the `contract-check` binary runs in `./dev lint`: a change that a consumer or an old message
//!   could not survive fails it, unless it comes as a new version of the event.
//! - [`topology`]: the production cluster's topics and users (Strimzi's `KafkaTopic` and
//!   `KafkaUser`, with each service's ACLs) and the docs' topic table, generated from the
//!   topics' declaration in `shared-events` and committed; a test keeps them equal.
//! - The tests (`tests/contracts`): every producer's real events checked against the document and
//!   against what each consumer says it relies on; the order service's payment client checked
//!   against the real payment service.
//!
//! docs/contracts.md explains the whole.

pub mod asyncapi;
pub mod compat;
pub mod topology;
