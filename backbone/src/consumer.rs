//! The consumer loop: one consumer group per processor, at-least-once delivery made effectively
//! once by idempotent processors.
//!
//! For each message: decode the envelope; hand it to the processor under the message's trace;
//! store the offset only once the processor's effect is committed (auto-commit then commits only
//! stored offsets). Unknown event types are skipped. Malformed messages, and events that keep
//! failing after bounded retries with backoff, go to the dead-letter topic with headers naming
//! the error and the origin, and the partition moves on. Infrastructure errors (database down)
//! are retried until they clear, never dead-lettered. On shutdown the message in hand is
//! finished, stored offsets are committed and the consumer leaves its group.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use shared_events::{Decoded, Envelope, Topic};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::kafka::KafkaSettings;
use service_runtime::trace::TraceParent;

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
    fn from(e: sqlx::Error) -> Self {
        let transient = match &e {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_) => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|code| is_transient_sqlstate(&code)),
            _ => false,
        };
        if transient {
            HandleError::Transient(e.into())
        } else {
            HandleError::Failed(e.into())
        }
    }
}

/// SQLSTATEs that say "the database cannot do it right now", not "this event is wrong": lost
/// connections (class 08), too many connections / out of resources (53), the server shutting
/// down or starting up (57), serialization failures and deadlocks (40001, 40P01). A database
/// restart or failover must delay events, never dead-letter them.
fn is_transient_sqlstate(code: &str) -> bool {
    matches!(code.get(..2), Some("08" | "53" | "57")) || matches!(code, "40001" | "40P01")
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
}

/// Where a message sits in Kafka: its partition and offset. Within a partition offsets only grow,
/// and one consumer of a group reads it at a time, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub partition: i32,
    pub offset: i64,
}

/// How often and how patiently a failing event is retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts for [`HandleError::Failed`] before dead-lettering (transient errors retry forever).
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// A running consumer: subscribe with [`Consumer::spawn`].
pub struct Consumer<P> {
    processor: Arc<P>,
    settings: KafkaSettings,
    producer: FutureProducer,
    pub retry: RetryPolicy,
}

impl<P: Processor> Consumer<P> {
    /// `producer` sends dead letters.
    pub fn new(processor: P, settings: KafkaSettings, producer: FutureProducer) -> Self {
        Self {
            processor: Arc::new(processor),
            settings,
            producer,
            retry: RetryPolicy::default(),
        }
    }

    /// Joins the group and consumes until `shutdown`. Fails at once if it cannot subscribe.
    pub fn spawn(self, shutdown: CancellationToken) -> anyhow::Result<JoinHandle<()>> {
        let consumer = self.settings.consumer(self.processor.name())?;
        let topics: Vec<String> = self
            .processor
            .topics()
            .into_iter()
            .map(|t| self.settings.topics.name(t))
            .collect();
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&names)
            .with_context(|| format!("cannot subscribe to {names:?}"))?;
        tracing::info!(consumer = self.processor.name(), topics = ?names, "consumer subscribed");
        Ok(tokio::spawn(self.run(consumer, shutdown)))
    }

    async fn run(self, consumer: StreamConsumer, shutdown: CancellationToken) {
        let name = self.processor.name();
        loop {
            let received = tokio::select! {
                () = shutdown.cancelled() => break,
                received = consumer.recv() => received,
            };
            let message = match received {
                Ok(message) => message,
                Err(e) => {
                    tracing::warn!(consumer = name, error = %e, "kafka receive failed");
                    if sleep_or_cancel(Duration::from_secs(1), &shutdown).await {
                        break;
                    }
                    continue;
                }
            };
            if !self.handle(&message, &shutdown).await {
                break; // shut down while retrying: the message stays unprocessed and uncommitted
            }
            if let Err(e) = consumer.store_offset_from_message(&message) {
                tracing::warn!(consumer = name, error = %e, "cannot store offset");
            }
        }
        match consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(())
            | Err(KafkaError::ConsumerCommit(rdkafka::types::RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => tracing::warn!(consumer = name, error = %e, "final offset commit failed"),
        }
        consumer.unsubscribe();
        tracing::info!(consumer = name, "consumer stopped");
        // Dropping the consumer closes it, which leaves the group.
    }

    /// Processes one message to the end. `false` if shutdown interrupted it.
    async fn handle(&self, message: &BorrowedMessage<'_>, shutdown: &CancellationToken) -> bool {
        let name = self.processor.name();
        let envelope = match Envelope::decode(message.payload().unwrap_or_default()) {
            Ok(Decoded::Event(envelope)) => envelope,
            Ok(Decoded::Unknown { id, event_type }) => {
                tracing::debug!(consumer = name, event.id = %id, event.type = %event_type, "unknown event type skipped");
                metrics::counter!("events_consumed_total", "consumer" => name, "outcome" => "unknown").increment(1);
                return true;
            }
            Err(e) => {
                tracing::error!(consumer = name, topic = message.topic(), partition = message.partition(),
                    offset = message.offset(), error = %e, "malformed message: dead-lettering");
                return self.dead_letter(message, &e.to_string(), shutdown).await;
            }
        };
        let trace = header(message, "traceparent")
            .and_then(TraceParent::parse)
            .unwrap_or_else(TraceParent::new_root);
        let span = tracing::info_span!("consume", consumer = name, event.id = %envelope.id,
            event.type = envelope.type_name(), order.id = ?envelope.event.order_id(), trace.id = trace.trace_id());
        let position = Position {
            partition: message.partition(),
            offset: message.offset(),
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = trace
                .clone()
                .scope(self.processor.process_at(&envelope, &position))
                .instrument(span.clone())
                .await;
            let error = match result {
                Ok(outcome) => {
                    span.in_scope(|| {
                        tracing::debug!(outcome = outcome.as_str(), "event processed")
                    });
                    metrics::counter!("events_consumed_total", "consumer" => name, "outcome" => outcome.as_str()).increment(1);
                    return true;
                }
                Err(e) => e,
            };
            let give_up =
                matches!(error, HandleError::Failed(_)) && attempt >= self.retry.max_attempts;
            if give_up {
                span.in_scope(|| tracing::error!(attempt, error = %error, "event failed for good: dead-lettering"));
                return self
                    .dead_letter(message, &error.to_string(), shutdown)
                    .await;
            }
            span.in_scope(|| tracing::warn!(attempt, error = %error, "event failed; retrying"));
            if sleep_or_cancel(self.retry.backoff(attempt), shutdown).await {
                return false;
            }
        }
    }

    /// Copies `message` to the dead-letter topic with its origin and the error in headers.
    /// Retries until it is sent: a dead letter must not be lost either.
    async fn dead_letter(
        &self,
        message: &BorrowedMessage<'_>,
        error: &str,
        shutdown: &CancellationToken,
    ) -> bool {
        let name = self.processor.name();
        let topic = self.settings.topics.name(Topic::DeadLetter);
        let (partition, offset) = (
            message.partition().to_string(),
            message.offset().to_string(),
        );
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut headers = OwnedHeaders::new();
            if let Some(original) = message.headers() {
                for h in original.iter() {
                    headers = headers.insert(Header {
                        key: h.key,
                        value: h.value,
                    });
                }
            }
            for (key, value) in [
                ("dlq.error", error),
                ("dlq.topic", message.topic()),
                ("dlq.partition", &partition),
                ("dlq.offset", &offset),
                ("dlq.consumer", name),
            ] {
                headers = headers.insert(Header {
                    key,
                    value: Some(value),
                });
            }
            let mut record = FutureRecord::to(&topic).headers(headers);
            if let Some(payload) = message.payload() {
                record = record.payload(payload);
            }
            if let Some(key) = message.key() {
                record = record.key(key);
            }
            match self
                .producer
                .send(record, Timeout::After(Duration::from_secs(10)))
                .await
            {
                Ok(_) => {
                    metrics::counter!("events_dead_lettered_total", "consumer" => name)
                        .increment(1);
                    return true;
                }
                Err((e, _)) => {
                    tracing::warn!(consumer = name, attempt, error = %e, "cannot send dead letter; retrying");
                    if sleep_or_cancel(self.retry.backoff(attempt), shutdown).await {
                        return false;
                    }
                }
            }
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
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        };
        let waits: Vec<_> = (1..=6).map(|a| policy.backoff(a).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn restarts_overload_and_deadlocks_are_transient_sqlstates_and_constraint_violations_are_not() {
        for code in ["08006", "57P01", "57P03", "53300", "40001", "40P01"] {
            assert!(is_transient_sqlstate(code), "{code}");
        }
        for code in ["23505", "23503", "42P01", "22P02"] {
            assert!(!is_transient_sqlstate(code), "{code}");
        }
    }

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
