//! Reliable messaging on Kafka, shared by every service:
//!
//! - [`outbox`]: events are written in the same database transaction as the state change they
//!   describe; the [`relay`] publishes them with an idempotent producer, woken on commit.
//! - [`consumer`]: a consumer-group loop that takes messages in batches (what has already
//!   arrived, up to `CONSUMER_BATCH_MAX`), hands their events to a [`consumer::Processor`],
//!   stores each offset only after the effect is committed, retries with backoff and sends what
//!   it gives up on to the dead-letter topic.
//! - [`backlog`]: the outbox's backlog as gauges (pending rows, the oldest one's age, parked
//!   rows); [`consumer::lag`]: each group's lag per partition, read from the broker.
//! - [`parked`]: what operators do with outbox rows the relay gave up on (list, retry, drop),
//!   as a command and as admin routes.
//! - [`inbox`]: the processor for PostgreSQL services, which records each handled event in the
//!   same transaction as its effect so a redelivery has no second effect, and applies a batch in
//!   one transaction (one commit, one WAL flush, for up to `CONSUMER_BATCH_MAX` events);
//!   [`lock`]: the per-order lock its handlers and the services' requests take turns on.
//! - [`launch`]: bringing a service up: its [`startup`] in the background (prepare, then the
//!   relay and its [`task`]s: consumers and other background work) and its HTTP front.
//!
//! The event types themselves live in `shared-events`; this crate only moves them.

pub mod backlog;
pub mod consumer;
pub mod inbox;
pub mod kafka;
pub mod launch;
pub mod lock;
pub mod outbox;
pub mod parked;
pub mod relay;
pub mod replay;
pub mod schema;
pub mod settings;
pub mod startup;
pub mod task;

pub use consumer::{BatchError, Delivered, HandleError, Outcome, Position, Processor};
pub use inbox::{EventHandler, PgInbox};
pub use kafka::KafkaSettings;
pub use launch::{Backbone, Front, Wiring, launch};
pub use lock::lock_order;
pub use relay::Relay;
pub use settings::{ServiceSettings, request_timeout_from_env};
pub use startup::Startup;
pub use task::{BackgroundTask, Task};
