//! The delivery service in-process, against real PostgreSQL and Kafka.

#![allow(clippy::unwrap_used)]

mod cancellations;
mod deliveries;
mod health;
mod helpers;
