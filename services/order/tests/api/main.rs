//! The order service in-process with a real payment service in front of real PostgreSQL and
//! Kafka. The store and delivery services are played by publishing their events.

#![allow(clippy::unwrap_used)]

mod breaker;
mod changes;
mod grpc;
mod helpers;
mod lifecycle;
mod overload;
mod placing;
mod recovery;
