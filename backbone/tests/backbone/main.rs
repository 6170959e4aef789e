//! The backbone against the real servers: Kafka and PostgreSQL from `./dev test`.
//! One test binary; each test has its own database and topic prefix.

#![allow(clippy::unwrap_used)]

mod access;
mod batches;
mod dead_letters;
mod delivery;
mod fault_point;
mod malformed;
mod membership;
mod metrics;
mod parked;
mod relay_drain;
mod support;
