//! The store service in-process, against real PostgreSQL and Kafka.

#![allow(clippy::unwrap_used)]

mod cancellations;
mod catalog;
mod catching_up;
mod health;
mod helpers;
mod ratings;
mod registrations;
mod store_orders;
