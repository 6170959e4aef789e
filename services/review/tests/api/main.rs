//! The review service in-process, against real PostgreSQL and Kafka.

#![allow(clippy::unwrap_used)]

mod health;
mod helpers;
mod learning;
mod reviews;
