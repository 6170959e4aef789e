//! The loop of one consumer: batches in, effects committed by the processor, offsets stored.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures::FutureExt as _;
use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer as _};
use rdkafka::error::KafkaError;
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::FutureProducer;
use shared_events::{Decoded, Envelope, Topic};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{
    BatchError, BatchPolicy, Delivered, HandleError, Outcome, Position, Processor, RetryPolicy,
    dead_letter, header, sleep_or_cancel,
};
use crate::kafka::{GroupConsumer, KafkaSettings};
use service_runtime::trace;

/// A running consumer: subscribe with [`Consumer::spawn`].
pub struct Consumer<P> {
    processor: Arc<P>,
    settings: KafkaSettings,
    producer: FutureProducer,
    pub retry: RetryPolicy,
    /// From the settings' [`KafkaSettings::batch`].
    pub batch: BatchPolicy,
}

/// A message of a batch, decoded.
enum Item {
    Event(Box<Delivered>),
    /// An event type this build does not know: skipped.
    Unknown,
    /// Not an event envelope: dead-lettered with this error.
    Malformed(String),
}

impl<P: Processor> Consumer<P> {
    /// `producer` sends dead letters.
    pub fn new(processor: P, settings: KafkaSettings, producer: FutureProducer) -> Self {
        Self {
            processor: Arc::new(processor),
            batch: settings.batch,
            settings,
            producer,
            retry: RetryPolicy::default(),
        }
    }

    /// Joins the group and consumes until `shutdown`. Fails at once if it cannot subscribe.
    pub fn spawn(self, shutdown: CancellationToken) -> anyhow::Result<JoinHandle<()>> {
        let consumer = self.settings.group_member(self.processor.name())?;
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
        let consumer = Arc::new(consumer);
        let lag = super::lag::watch(
            consumer.clone(),
            format!("{}{}", self.settings.topics.prefix(), self.processor.name()),
            topics,
            self.settings.metrics_interval,
            shutdown.child_token(),
        );
        Ok(tokio::spawn(async move {
            self.run(&consumer, shutdown).await;
            // Not awaited: a reading in hand may wait seconds on a broker that went away. It
            // holds a reference, so the consumer closes (leaving its group) when it is done.
            lag.abort();
        }))
    }

    async fn run(self, consumer: &GroupConsumer, shutdown: CancellationToken) {
        let name = self.processor.name();
        loop {
            let received = tokio::select! {
                biased; // once shut down, no new batch
                () = shutdown.cancelled() => break,
                received = consumer.recv() => received,
            };
            let first = match received {
                Ok(message) => message,
                Err(e) => {
                    tracing::warn!(consumer = name, error = %e, "kafka receive failed");
                    if let Some(pause) = pause_after(&e)
                        && sleep_or_cancel(pause, &shutdown).await
                    {
                        break;
                    }
                    continue;
                }
            };
            let batch = self.gather(consumer, first).await;
            metrics::histogram!("consumer_batch_messages", "consumer" => name)
                .record(batch.len() as f64);
            if !self.handle_batch(consumer, &batch, &shutdown).await {
                break; // shut down while retrying: the rest of the batch stays unstored
            }
        }
        match consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(())
            | Err(KafkaError::ConsumerCommit(rdkafka::types::RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => tracing::warn!(consumer = name, error = %e, "final offset commit failed"),
        }
        consumer.unsubscribe();
        tracing::info!(consumer = name, "consumer stopped");
        // Dropping the consumer closes it, which leaves the group (a static member stays in it
        // until its session times out, to take its partitions back if it comes back).
    }

    /// `first`, and the messages received after it up to the batch's size: those already
    /// received, or those that arrive within the linger.
    async fn gather<'c>(
        &self,
        consumer: &'c GroupConsumer,
        first: BorrowedMessage<'c>,
    ) -> Vec<BorrowedMessage<'c>> {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + self.batch.linger;
        while batch.len() < self.batch.max {
            let next = if self.batch.linger.is_zero() {
                consumer.recv().now_or_never()
            } else {
                tokio::time::timeout_at(deadline, consumer.recv())
                    .await
                    .ok()
            };
            match next {
                Some(Ok(message)) => batch.push(message),
                Some(Err(e)) => {
                    let name = self.processor.name();
                    tracing::warn!(consumer = name, error = %e, "kafka receive failed");
                    break;
                }
                None => break,
            }
        }
        batch
    }

    /// Processes `messages` in order, storing each offset once the message is done with (its
    /// effect committed, or skipped, or dead-lettered). `false` if shutdown interrupted it.
    async fn handle_batch(
        &self,
        consumer: &GroupConsumer,
        messages: &[BorrowedMessage<'_>],
        shutdown: &CancellationToken,
    ) -> bool {
        let mut next = 0;
        while next < messages.len() {
            // The events up to the next message that is not one go to the processor together.
            let mut events = Vec::new();
            let mut other = None;
            for message in &messages[next..] {
                match self.decode(message) {
                    Item::Event(event) => events.push(*event),
                    item => {
                        other = Some(item);
                        break;
                    }
                }
            }
            if !events.is_empty() {
                let delivered = &messages[next..next + events.len()];
                if !self
                    .handle_events(consumer, delivered, &events, shutdown)
                    .await
                {
                    return false;
                }
                next += events.len();
            }
            if let Some(item) = other {
                if let Item::Malformed(error) = item
                    && !self.dead_letter(&messages[next], &error, shutdown).await
                {
                    return false;
                }
                store(consumer, &messages[next..=next], self.processor.name());
                next += 1;
            }
        }
        true
    }

    /// Decodes a message; counts and logs the ones that are not events for the processor.
    fn decode(&self, message: &BorrowedMessage<'_>) -> Item {
        let name = self.processor.name();
        let envelope = match Envelope::decode(message.payload().unwrap_or_default()) {
            Ok(Decoded::Event(envelope)) => envelope,
            Ok(Decoded::Unknown { id, event_type }) => {
                tracing::debug!(consumer = name, event.id = %id, event.type = %event_type, "unknown event type skipped");
                metrics::counter!("events_consumed_total", "consumer" => name, "outcome" => "unknown").increment(1);
                return Item::Unknown;
            }
            Err(e) => {
                tracing::error!(consumer = name, topic = message.topic(), partition = message.partition(),
                    offset = message.offset(), error = %e, "malformed message: dead-lettering");
                return Item::Malformed(e.to_string());
            }
        };
        let span = tracing::info_span!("consume", otel.name = format!("{name} {}", envelope.type_name()),
            otel.kind = "consumer", messaging.system = "kafka", messaging.destination.name = message.topic(),
            consumer = name, event.id = %envelope.id, event.type = envelope.type_name(),
            order.id = tracing::field::Empty, trace_id = tracing::field::Empty);
        if let Some(order) = envelope.event.order_id() {
            span.record("order.id", tracing::field::display(order));
        }
        trace::follow(&span, header(message, trace::HEADER));
        Item::Event(Box::new(Delivered {
            envelope: *envelope,
            position: Position {
                partition: message.partition(),
                offset: message.offset(),
            },
            span,
        }))
    }

    /// Processes `events` (decoded from `messages`, one each) as one batch as far as it goes;
    /// an event that fails is retried alone before the ones after it are tried again. `false`
    /// if shutdown interrupted it.
    async fn handle_events(
        &self,
        consumer: &GroupConsumer,
        messages: &[BorrowedMessage<'_>],
        events: &[Delivered],
        shutdown: &CancellationToken,
    ) -> bool {
        let name = self.processor.name();
        let mut next = 0;
        let mut one_at_a_time = false;
        while next < events.len() {
            if one_at_a_time {
                if !self
                    .handle_alone(&messages[next], &events[next], None, shutdown)
                    .await
                {
                    return false;
                }
                store(consumer, &messages[next..=next], name);
                next += 1;
                continue;
            }
            let (committed, error) = match self.processor.process_batch(&events[next..]).await {
                Ok(committed) => (committed, None),
                Err(BatchError { committed, error }) => (committed, Some(error)),
            };
            let done = committed.len().min(events.len() - next);
            for (event, outcome) in events[next..next + done].iter().zip(committed) {
                self.record(event, outcome);
            }
            store(consumer, &messages[next..next + done], name);
            next += done;
            match error {
                Some(error @ HandleError::Failed(_)) if next < events.len() => {
                    if !self
                        .handle_alone(&messages[next], &events[next], Some(error), shutdown)
                        .await
                    {
                        return false;
                    }
                    store(consumer, &messages[next..=next], name);
                    next += 1;
                }
                Some(error) => {
                    let remaining = events.len() - next;
                    tracing::warn!(consumer = name, remaining, error = %error,
                        "batch failed; retrying its events one at a time");
                    if sleep_or_cancel(self.retry.backoff.delay(1), shutdown).await {
                        return false;
                    }
                    one_at_a_time = true;
                }
                // A processor that reports nothing done and no error would be asked forever.
                None if done == 0 => one_at_a_time = true,
                None => {}
            }
        }
        true
    }

    /// Processes one event to the end: retried with backoff, dead-lettered once it has failed
    /// `max_attempts` times (counting `failed`, a first attempt made in a batch). `false` if
    /// shutdown interrupted it.
    async fn handle_alone(
        &self,
        message: &BorrowedMessage<'_>,
        event: &Delivered,
        mut failed: Option<HandleError>,
        shutdown: &CancellationToken,
    ) -> bool {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match failed.take() {
                Some(error) => error,
                None => match event
                    .scope(|| self.processor.process_at(&event.envelope, &event.position))
                    .await
                {
                    Ok(outcome) => {
                        self.record(event, outcome);
                        return true;
                    }
                    Err(error) => error,
                },
            };
            let give_up =
                matches!(error, HandleError::Failed(_)) && attempt >= self.retry.max_attempts;
            if give_up {
                event.span.in_scope(|| tracing::error!(attempt, error = %error, "event failed for good: dead-lettering"));
                return self
                    .dead_letter(message, &error.to_string(), shutdown)
                    .await;
            }
            event
                .span
                .in_scope(|| tracing::warn!(attempt, error = %error, "event failed; retrying"));
            if sleep_or_cancel(self.retry.backoff.delay(attempt), shutdown).await {
                return false;
            }
        }
    }

    fn record(&self, event: &Delivered, outcome: Outcome) {
        event
            .span
            .in_scope(|| tracing::debug!(outcome = outcome.as_str(), "event processed"));
        metrics::counter!("events_consumed_total", "consumer" => self.processor.name(), "outcome" => outcome.as_str()).increment(1);
        if outcome == Outcome::Applied {
            // From the event's time at its source to its effect committed here: how far behind
            // the world this consumer's state is (mypage's projection: what a customer sees).
            let delay = (chrono::Utc::now() - event.envelope.occurred_at)
                .to_std()
                .unwrap_or_default();
            metrics::histogram!("event_apply_delay_seconds", "consumer" => self.processor.name())
                .record(delay.as_secs_f64());
        }
    }

    /// Sends `message` to the dead-letter topic; `false` if shutdown came first.
    async fn dead_letter(
        &self,
        message: &BorrowedMessage<'_>,
        error: &str,
        shutdown: &CancellationToken,
    ) -> bool {
        let topic = self.settings.topics.name(Topic::DeadLetter);
        let name = self.processor.name();
        dead_letter::send(
            &self.producer,
            &topic,
            name,
            message,
            error,
            &self.retry,
            shutdown,
        )
        .await
    }
}

/// Stores the offsets of `messages`, in order: they are committed with the next commit.
fn store(consumer: &GroupConsumer, messages: &[BorrowedMessage<'_>], name: &str) {
    for message in messages {
        if let Err(e) = consumer.store_offset_from_message(message) {
            tracing::warn!(consumer = name, error = %e, "cannot store offset");
        }
    }
}

/// How long to wait after a receive error before receiving again. Errors are events in the
/// consumer's queue, each returned once: a broker that was away for a while leaves dozens of
/// "all brokers down" events queued behind it, and a pause after each one held the consumer
/// back from its messages (and its rebalance) for as many seconds after the broker was back.
/// Only a fatal error, which the consumer keeps returning, is worth a pause.
fn pause_after(error: &KafkaError) -> Option<Duration> {
    matches!(error, KafkaError::MessageConsumptionFatal(_)).then_some(Duration::from_secs(1))
}

#[cfg(test)]
mod receive_error_tests {
    use rdkafka::error::{KafkaError, RDKafkaErrorCode};

    use super::pause_after;

    #[test]
    fn a_queued_transport_error_is_passed_over_at_once_and_only_a_fatal_one_waits() {
        for transient in [
            RDKafkaErrorCode::AllBrokersDown,
            RDKafkaErrorCode::BrokerTransportFailure,
        ] {
            assert_eq!(
                pause_after(&KafkaError::MessageConsumption(transient)),
                None
            );
        }
        assert!(
            pause_after(&KafkaError::MessageConsumptionFatal(
                RDKafkaErrorCode::FencedInstanceId
            ))
            .is_some()
        );
    }
}
