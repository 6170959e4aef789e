//! The whole choreography, end to end, through the gateway.

#![allow(clippy::unwrap_used)]

mod access;
mod changes;
mod choreography;
mod grpc;
mod metrics;
mod outages;
mod owners;
mod races;
mod reviews;
mod system;
