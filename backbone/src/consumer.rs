//! The consumer loop: one consumer group per processor, at-least-once delivery made effectively
//! once by idempotent processors.
//!
//! Messages are taken in batches: once one has arrived, whatever else has already arrived is taken
//! with it, up to [`BatchPolicy::max`] (optionally waiting [`BatchPolicy::linger`] for more). A
//! quiet topic therefore costs no latency, and a busy one is applied in few transactions: the
//! processor gets the batch's events together ([`Processor::process_batch`]; [`crate::PgInbox`]
//! applies them in one database transaction). A message's offset is stored only once its effect
//! is committed (auto-commit then commits only stored offsets), in the partition's order.
//!
//! Unknown event types are skipped. Malformed messages, and events that keep failing after
//! bounded retries with backoff, go to the dead-letter topic with headers naming the error and the
//! origin, and the partition moves on. An event that fails in a batch is retried on its own, after
//! the events before it are committed and before any after it. Infrastructure errors (database
//! down, a deadlock) are retried until they clear, never dead-lettered; the rest of a batch that
//! hit one is retried one event at a time. On shutdown the batch in hand is finished, stored
//! offsets are committed and the consumer leaves its group.

mod dead_letter;
mod group;
pub mod lag;

use std::time::Duration;

use async_trait::async_trait;
use rdkafka::Message;
use rdkafka::message::Headers;
use shared_events::{Envelope, Topic};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use dead_letter::PAYLOAD_DROPPED;
pub use group::Consumer;
use service_runtime::retry::Backoff;

pub use crate::kafka::BatchPolicy;

/// What a processor did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Its effect was applied.
    Applied,
    /// It had been handled before; nothing changed.
    Duplicate,
    /// Not an event this processor acts on.
    Ignored,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Duplicate => "duplicate",
            Outcome::Ignored => "ignored",
        }
    }
}

/// Why an event could not be handled (yet).
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The infrastructure failed (database unreachable, pool exhausted): retried until it works.
    #[error("transient: {0:#}")]
    Transient(anyhow::Error),
    /// The event itself cannot be handled: retried a few times, then dead-lettered.
    #[error("{0:#}")]
    Failed(anyhow::Error),
}

impl From<sqlx::Error> for HandleError {
    /// Transient when the database cannot do it right now (a restart or failover must delay
    /// events, never dead-letter them); failed otherwise.
    fn from(e: sqlx::Error) -> Self {
        if service_runtime::db::is_transient(&e) {
            HandleError::Transient(e.into())
        } else {
            HandleError::Failed(e.into())
        }
    }
}

/// Turns events into effects. Must be idempotent: the same event may arrive more than once.
#[async_trait]
pub trait Processor: Send + Sync + 'static {
    /// The consumer's name: its group id (after the topic prefix) and its inbox key.
    fn name(&self) -> &'static str;
    /// The topics it reads.
    fn topics(&self) -> Vec<Topic>;
    async fn process(&self, envelope: &Envelope) -> Result<Outcome, HandleError>;
    /// [`Processor::process`], told where the message sits in its partition. Processors that
    /// make an effect idempotent by the partition's order (per-partition high-water marks)
    /// override this one; the others need only `process`.
    async fn process_at(
        &self,
        envelope: &Envelope,
        _position: &Position,
    ) -> Result<Outcome, HandleError> {
        self.process(envelope).await
    }
    /// Processes the events of a batch, in order, and says how far it got: on `Ok`, every
    /// event's outcome; on `Err`, the outcomes of the events committed, from the first, and why
    /// it stopped there (see [`BatchError`]). Events after the ones committed must have no
    /// effect, so that the consumer can retry them while keeping each partition's order.
    ///
    /// By default each event goes through [`Processor::process_at`], under its trace, one after
    /// the other. Processors that can group effects (one transaction for the batch) override it.
    async fn process_batch(&self, batch: &[Delivered]) -> Result<Vec<Outcome>, BatchError> {
        let mut committed = Vec::with_capacity(batch.len());
        for event in batch {
            match event
                .scope(|| self.process_at(&event.envelope, &event.position))
                .await
            {
                Ok(outcome) => committed.push(outcome),
                Err(error) => return Err(BatchError { committed, error }),
            }
        }
        Ok(committed)
    }
}

/// Where a message sits in Kafka: its partition and offset. Within a partition offsets only grow,
/// and one consumer of a group reads it at a time, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub partition: i32,
    pub offset: i64,
}

/// An event as the consumer hands it over: where it sits, and the span its work is traced and
/// logged under, which continues the trace of the work that published the event.
#[derive(Debug)]
pub struct Delivered {
    pub envelope: Envelope,
    pub position: Position,
    pub span: tracing::Span,
}

impl Delivered {
    /// Runs the work `start` makes for this event under its span, so that the events it causes
    /// continue the trace. The work is made inside the span too: a span an `async fn` opens
    /// when called (`#[tracing::instrument]`) is then a child of the event's.
    pub async fn scope<F: Future>(&self, start: impl FnOnce() -> F) -> F::Output {
        self.span
            .in_scope(start)
            .instrument(self.span.clone())
            .await
    }
}

/// Why [`Processor::process_batch`] stopped before the end of its batch.
#[derive(Debug)]
pub struct BatchError {
    /// The outcomes of the events committed, from the first of the batch.
    pub committed: Vec<Outcome>,
    /// [`HandleError::Failed`]: the event right after the committed ones failed, and the
    /// consumer retries it on its own (then dead-letters it). [`HandleError::Transient`]: the
    /// infrastructure failed; the consumer retries the rest of the batch one event at a time.
    pub error: HandleError,
}

/// How often and how patiently a failing event is retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts for [`HandleError::Failed`] before dead-lettering (transient errors retry forever).
    pub max_attempts: u32,
    /// The wait after each failed attempt.
    pub backoff: Backoff,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(10)),
        }
    }
}

/// The value of a message header as text.
pub fn header<'a>(message: &'a impl Message, key: &str) -> Option<&'a str> {
    message
        .headers()?
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| std::str::from_utf8(h.value?).ok())
}

/// Sleeps; `true` if shutdown came first.
async fn sleep_or_cancel(duration: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = shutdown.cancelled() => true,
        () = tokio::time::sleep(duration) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_connections_are_transient_and_constraint_errors_are_not() {
        let io = sqlx::Error::Io(std::io::Error::other("connection reset"));
        assert!(matches!(HandleError::from(io), HandleError::Transient(_)));
        assert!(matches!(
            HandleError::from(sqlx::Error::RowNotFound),
            HandleError::Failed(_)
        ));
    }
}
