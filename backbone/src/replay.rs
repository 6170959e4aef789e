//! Feeding dead letters back. Once the bug that made a consumer give up on some messages is
//! fixed (and deployed), `dlq-replay` republishes its dead letters to the topics they came from,
//! with their original key and headers. Consumers are idempotent, so a consumer that had handled a
//! message already ignores the copy.
//!
//! The replayer is a consumer group of its own: each run continues after the last dead letter
//! the previous run of the same kind replayed, and stops when it reaches the end it saw at
//! start. A run for every consumer is group `dlq-replay`; a run for one consumer is
//! `dlq-replay.<consumer>`, so that replaying one consumer's letters never moves past another's
//! still waiting for their fix. (A later run for every consumer may then send that consumer's
//! letters again: the consumers' inboxes drop the copies.)

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use rdkafka::util::Timeout;
use rdkafka::{Message, Offset, TopicPartitionList};
use shared_events::Topic;
use shared_events::topology::REPLAYER;

use crate::consumer::{PAYLOAD_DROPPED, header};
use crate::kafka::KafkaSettings;

/// What a replay did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReplayReport {
    /// Dead letters republished to their topic.
    pub replayed: usize,
    /// Dead letters of other consumers (when filtering), without an origin, or sent without
    /// their payload.
    pub skipped: usize,
}

/// Replays the dead letters written since the last replay; only those of `consumer` if given.
pub async fn replay_dead_letters(
    settings: &KafkaSettings,
    consumer: Option<&str>,
) -> anyhow::Result<ReplayReport> {
    let dlq = settings.topics.name(Topic::DeadLetter);
    let group = match consumer {
        Some(consumer) => format!("{REPLAYER}.{consumer}"),
        None => REPLAYER.to_owned(),
    };
    let reader: StreamConsumer = settings.consumer(&group)?;
    let producer = settings.producer()?;
    let metadata = reader
        .fetch_metadata(Some(&dlq), Duration::from_secs(10))
        .context("cannot read the dead-letter topic's metadata")?;
    let mut assignment = TopicPartitionList::new();
    let mut end: HashMap<i32, i64> = HashMap::new();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        let (_, high) = reader.fetch_watermarks(&dlq, partition.id(), Duration::from_secs(10))?;
        end.insert(partition.id(), high);
        assignment.add_partition_offset(&dlq, partition.id(), Offset::Stored)?;
    }
    reader.assign(&assignment)?;
    let mut report = ReplayReport::default();
    let mut position: HashMap<i32, i64> = HashMap::new();
    let caught_up = |position: &HashMap<i32, i64>| {
        end.iter()
            .all(|(p, high)| *high == 0 || position.get(p).is_some_and(|next| next >= high))
    };
    while !caught_up(&position) {
        // Nothing new for a while: every partition that had letters is at its end.
        let Ok(message) = tokio::time::timeout(Duration::from_secs(5), reader.recv()).await else {
            break;
        };
        let message = message?;
        position.insert(message.partition(), message.offset() + 1);
        let origin = header(&message, "dlq.topic").map(str::to_owned);
        let wanted = consumer.is_none_or(|c| header(&message, "dlq.consumer") == Some(c))
            && header(&message, PAYLOAD_DROPPED).is_none();
        match origin {
            Some(topic) if wanted => {
                let mut headers = OwnedHeaders::new();
                for h in message.headers().iter().flat_map(|h| h.iter()) {
                    if !h.key.starts_with("dlq.") {
                        headers = headers.insert(Header {
                            key: h.key,
                            value: h.value,
                        });
                    }
                }
                let mut record = FutureRecord::to(&topic).headers(headers);
                if let Some(payload) = message.payload() {
                    record = record.payload(payload);
                }
                if let Some(key) = message.key() {
                    record = record.key(key);
                }
                producer
                    .send(record, Timeout::After(Duration::from_secs(30)))
                    .await
                    .map_err(|(e, _)| e)
                    .with_context(|| format!("cannot republish a dead letter to {topic}"))?;
                report.replayed += 1;
            }
            _ => report.skipped += 1,
        }
        reader.store_offset_from_message(&message)?;
    }
    if report.replayed + report.skipped > 0 {
        reader.commit_consumer_state(CommitMode::Sync)?;
    }
    Ok(report)
}
