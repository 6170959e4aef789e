//! Dead letters: a message the consumer gives up on, copied to the dead-letter topic with its
//! origin and the error in headers.

use std::time::Duration;

use rdkafka::Message;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use tokio_util::sync::CancellationToken;

use super::{RetryPolicy, sleep_or_cancel};

/// The header of a dead letter sent without its payload (too large with the letter's headers),
/// with the payload's size in bytes. The replayer skips such letters: there is nothing to replay.
pub const PAYLOAD_DROPPED: &str = "dlq.payload-dropped";

fn too_large(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::MessageSizeTooLarge)
    )
}

/// Copies `message` to `topic`, the dead-letter topic, with its origin, the error and the
/// consumer (`name`) in headers. Retries until it is sent: a dead letter must not be lost
/// either. `false` if shutdown came first.
pub(super) async fn send(
    producer: &FutureProducer,
    topic: &str,
    name: &'static str,
    message: &BorrowedMessage<'_>,
    error: &str,
    retry: &RetryPolicy,
    shutdown: &CancellationToken,
) -> bool {
    let (partition, offset) = (
        message.partition().to_string(),
        message.offset().to_string(),
    );
    let mut attempt = 0;
    // Set once the letter with its payload proved too large to send: it goes without it.
    let mut dropped_payload: Option<String> = None;
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
        if let Some(size) = &dropped_payload {
            headers = headers.insert(Header {
                key: PAYLOAD_DROPPED,
                value: Some(size),
            });
        }
        let mut record = FutureRecord::to(topic).headers(headers);
        if let Some(payload) = message.payload().filter(|_| dropped_payload.is_none()) {
            record = record.payload(payload);
        }
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        match producer
            .send(record, Timeout::After(Duration::from_secs(10)))
            .await
        {
            Ok(_) => {
                metrics::counter!("events_dead_lettered_total", "consumer" => name).increment(1);
                return true;
            }
            Err((e, _)) if too_large(&e) && dropped_payload.is_none() => {
                // A message at the size limit, with the dead letter's headers, is over it: sent
                // again it would fail forever and hold up its partition.
                let size = message.payload_len().to_string();
                tracing::error!(consumer = name, bytes = %size, "dead letter too large: sent without its payload");
                dropped_payload = Some(size);
            }
            Err((e, _)) => {
                tracing::warn!(consumer = name, attempt, error = %e, "cannot send dead letter; retrying");
                if sleep_or_cancel(retry.backoff.delay(attempt), shutdown).await {
                    return false;
                }
            }
        }
    }
}
