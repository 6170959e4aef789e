//! Consumer lag as a gauge, `kafka_consumer_lag{group, topic, partition}`: the messages a group
//! has yet to read on each partition of its topics (the partition's end offset less the group's
//! committed offset; a partition it never committed on counts from its first message).
//!
//! Read from the broker, not from what this member has fetched, on purpose: the figure must keep
//! moving while the consumer is stuck (a handler retrying, a poll loop that stopped), which is
//! exactly when it matters. So every replica of a service reports the same figures for its
//! group, each partition included whoever holds it: aggregate with `max by (group, topic,
//! partition)`, never `sum` over pods.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::Consumer as _;
use rdkafka::topic_partition_list::Offset;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::kafka::GroupConsumer;

/// How long one broker request of a reading may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// One partition's lag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: i32,
    pub lag: i64,
}

/// Sets the gauges for `group` (its full name, prefix included) every `every` until
/// `shutdown`, through the group's own consumer (its metadata and offset requests go beside the
/// fetches; nothing is assigned or committed by them).
pub fn watch(
    consumer: Arc<GroupConsumer>,
    group: String,
    topics: Vec<String>,
    every: Duration,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut failed = false;
        loop {
            let reading = {
                let (consumer, topics) = (consumer.clone(), topics.clone());
                tokio::task::spawn_blocking(move || read(&consumer, &topics)).await
            };
            match reading {
                Ok(Ok(lags)) => {
                    failed = false;
                    for lag in lags {
                        #[allow(clippy::cast_precision_loss)]
                        metrics::gauge!("kafka_consumer_lag", "group" => group.clone(),
                            "topic" => lag.topic, "partition" => lag.partition.to_string())
                        .set(lag.lag as f64);
                    }
                }
                // Said once per outage: the broker being away is logged elsewhere already.
                Ok(Err(e)) if !failed => {
                    failed = true;
                    tracing::debug!(consumer.group = %group, error = %format!("{e:#}"), "cannot read consumer lag");
                }
                Ok(Err(_)) => {}
                Err(e) => {
                    tracing::warn!(consumer.group = %group, error = %e, "consumer lag reading panicked")
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(every) => {}
            }
        }
    })
}

/// The group's lag on every partition of `topics` (blocking: broker round trips).
pub fn read(consumer: &GroupConsumer, topics: &[String]) -> anyhow::Result<Vec<PartitionLag>> {
    let mut partitions = TopicPartitionList::new();
    for topic in topics {
        let metadata = consumer
            .fetch_metadata(Some(topic), TIMEOUT)
            .with_context(|| format!("cannot read {topic}'s metadata"))?;
        for found in metadata.topics() {
            for partition in found.partitions() {
                partitions.add_partition(found.name(), partition.id());
            }
        }
    }
    let committed = consumer
        .committed_offsets(partitions, TIMEOUT)
        .context("cannot read the group's committed offsets")?;
    let mut lags = Vec::with_capacity(committed.count());
    for element in committed.elements() {
        let (low, high) = consumer
            .fetch_watermarks(element.topic(), element.partition(), TIMEOUT)
            .with_context(|| format!("cannot read {}'s end offsets", element.topic()))?;
        lags.push(PartitionLag {
            topic: element.topic().to_owned(),
            partition: element.partition(),
            lag: lag(element.offset(), low, high),
        });
    }
    Ok(lags)
}

/// Messages still to read from `committed` on a partition holding `low..high`.
fn lag(committed: Offset, low: i64, high: i64) -> i64 {
    match committed {
        // Retention may have deleted messages the group never read: those are gone, not due.
        Offset::Offset(offset) => high - offset.max(low),
        // Nothing committed: the group starts from the first message there is.
        _ => high - low,
    }
    .max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_counts_what_is_left_after_the_committed_offset_or_from_the_start() {
        assert_eq!(lag(Offset::Offset(7), 0, 10), 3);
        assert_eq!(lag(Offset::Offset(10), 0, 10), 0);
        assert_eq!(lag(Offset::Invalid, 4, 10), 6);
        assert_eq!(
            lag(Offset::Offset(2), 5, 10),
            5,
            "deleted messages are not due"
        );
        assert_eq!(lag(Offset::Offset(12), 0, 10), 0, "never negative");
    }
}
