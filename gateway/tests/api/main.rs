//! The gateway in-process, in front of a real payment service (real PostgreSQL and Kafka) and of
//! closed ports where the other services would be.

#![allow(clippy::unwrap_used)]

mod auth;
mod console;
mod dev_token;
mod grpc;
mod helpers;
mod limits;
mod openapi;
mod roles;
mod rotation;
mod routing;
mod shedding;
