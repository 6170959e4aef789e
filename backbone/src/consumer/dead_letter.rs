//! Dead letters: a message the consumer gives up on, copied to the dead-letter topic with its
//! origin and the error in headers.

use std::time::Duration;

use rdkafka::Message;
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use tokio_util::sync::CancellationToken;

use super::{RetryPolicy, sleep_or_cancel};

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
        let mut record = FutureRecord::to(topic).headers(headers);
        if let Some(payload) = message.payload() {
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
            Err((e, _)) => {
                tracing::warn!(consumer = name, attempt, error = %e, "cannot send dead letter; retrying");
                if sleep_or_cancel(retry.backoff(attempt), shutdown).await {
                    return false;
                }
            }
        }
    }
}
