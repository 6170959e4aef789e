//! The mypage service in-process, against real MongoDB (or FerretDB) and Kafka.

#![allow(clippy::unwrap_used)]

mod fixtures;
mod helpers;
mod indexes;
mod popular;
mod rebuild;
mod views;
