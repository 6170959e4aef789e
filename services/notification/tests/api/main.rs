//! The notification service in-process, against real PostgreSQL and Kafka.

#![allow(clippy::unwrap_used)]

mod fixtures;
mod health;
mod helpers;
mod notifications;
mod owners;
mod webhook;
