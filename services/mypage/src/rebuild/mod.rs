//! `mypage rebuild`: recomputes the read model from the beginning of Kafka's history into a fresh
//! generation of collections, then swaps it in, without stopping the service.
//!
//! 1. The new generation is registered as `building`, so the live consumer writes every event it
//!    handles from now on to it as well (folding an event twice is harmless).
//! 2. The end offsets of every partition are read *after* that, and the partitions are assigned
//!    from the beginning to a consumer outside any group; it stops at those offsets. Together
//!    with 1, every event reaches the new generation at least once. The order topic's end
//!    offsets are written to the pointer: below them the rebuild applies menu count changes, at
//!    and above them the live consumer does, so each change is counted once.
//! 3. The pointer switches `active` to the new generation; the old one is dropped.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use anyhow::Context;
use backbone::HandleError;
use backbone::Position;
use futures::FutureExt;
use rdkafka::consumer::{BaseConsumer, Consumer as _, StreamConsumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use secrecy::ExposeSecret;
use shared_events::{Decoded, Envelope, Topic};

use crate::menus::Counter;
use crate::projection::{Counts, TOPICS, apply_batch};
use crate::settings::Settings;
use crate::store::Store;

/// Most events folded together: an order's events mostly fall in one batch, so each view is
/// written once, and each menu item's changes are taken together.
const BATCH: usize = 20_000;
const WATERMARK_TIMEOUT: Duration = Duration::from_secs(10);
/// Lets requests that looked up the old generation just before the swap finish reading it, and
/// the live consumer finish the batch it began with the old pointer (a write to a dropped
/// collection would create it again).
const DROP_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct RebuildReport {
    pub generation: String,
    /// Messages replayed.
    pub events: u64,
}

pub async fn run(settings: &Settings) -> anyhow::Result<RebuildReport> {
    let store = Store::connect(
        settings.mongodb_url.expose_secret(),
        &settings.mongodb_database,
    )
    .await?;
    let previous = store
        .generations()
        .await
        .context("cannot read the live generation")?;
    let generation = format!("g{}", chrono::Utc::now().timestamp_millis());
    store.prepare(&generation).await?;
    store.set_building(Some(&generation)).await?;
    tracing::info!(%generation, previous = %previous.active, "rebuild started");

    let group = format!("mypage.rebuild-{}", uuid::Uuid::new_v4().simple());
    let consumer: StreamConsumer = settings.kafka.consumer(&group)?;
    let (assignment, ends) = end_offsets(settings).await?;
    let order_topic = settings.kafka.topics.name(Topic::Order);
    let order_ends: BTreeMap<i32, i64> = ends
        .iter()
        .filter(|((topic, _), _)| *topic == order_topic)
        .map(|((_, partition), end)| (*partition, *end))
        .collect();
    store.set_building_ends(&order_ends).await?;
    let mut remaining = ends;
    remaining
        .retain(|(topic, partition), _| assignment.find_partition(topic, *partition).is_some());
    consumer
        .assign(&assignment)
        .context("cannot assign partitions")?;

    let views = store.views(&generation);
    let mut events = 0;
    let mut batch = Vec::with_capacity(BATCH);
    while !remaining.is_empty() {
        // The next message, then whatever else has arrived, up to a batch.
        let mut next = Some(consumer.recv().await);
        while let Some(received) = next.take() {
            let message = received.context("reading history failed")?;
            let key = (message.topic().to_owned(), message.partition());
            if let Some(&end) = remaining.get(&key) {
                if message.offset() < end {
                    events += 1;
                    if let Ok(Decoded::Event(envelope)) =
                        Envelope::decode(message.payload().unwrap_or_default())
                    {
                        let position = Position {
                            partition: message.partition(),
                            offset: message.offset(),
                        };
                        batch.push((*envelope, position));
                    }
                }
                if message.offset() + 1 >= end {
                    remaining.remove(&key);
                }
            }
            if batch.len() < BATCH && !remaining.is_empty() {
                next = consumer.recv().now_or_never();
            }
        }
        apply_patiently(&views, &batch).await?;
        batch.clear();
    }

    store.activate(&generation).await?;
    tracing::info!(%generation, events, "rebuilt generation is live");
    tokio::time::sleep(DROP_GRACE).await;
    let old = store.views(&previous.active);
    old.orders.drop().await?;
    old.menus.drop().await?;
    Ok(RebuildReport { generation, events })
}

/// Every partition of the read topics from the beginning, and the offset each must reach (empty
/// partitions too: nothing to read there, but the order topic's ends are recorded all the same).
async fn end_offsets(
    settings: &Settings,
) -> anyhow::Result<(TopicPartitionList, HashMap<(String, i32), i64>)> {
    let kafka = settings.kafka.clone();
    tokio::task::spawn_blocking(move || {
        let probe: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &kafka.brokers)
            .set("group.id", "mypage.rebuild-probe")
            .create()
            .context("cannot create Kafka client")?;
        let mut assignment = TopicPartitionList::new();
        let mut ends = HashMap::new();
        for topic in TOPICS.map(|t| kafka.topics.name(t)) {
            let metadata = probe.fetch_metadata(Some(&topic), WATERMARK_TIMEOUT)?;
            for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
                let (low, high) =
                    probe.fetch_watermarks(&topic, partition.id(), WATERMARK_TIMEOUT)?;
                if high > low {
                    assignment.add_partition_offset(&topic, partition.id(), Offset::Beginning)?;
                }
                ends.insert((topic.clone(), partition.id()), high);
            }
        }
        Ok((assignment, ends))
    })
    .await?
}

/// Retries while the database is unreachable; an event that cannot be folded is skipped, as the
/// live consumer would have dead-lettered it.
async fn apply_patiently(
    views: &crate::store::Views,
    batch: &[(Envelope, Position)],
) -> anyhow::Result<()> {
    let events: Vec<_> = batch.iter().map(|(e, p)| (e, *p)).collect();
    let counts = |_: &Envelope, _| Ok(Counts::Yes(Counter::Rebuild));
    let (mut from, mut attempt) = (0, 0);
    while from < events.len() {
        match apply_batch(views, &events[from..], counts).await {
            Ok(_) => return Ok(()),
            Err((done, HandleError::Failed(e))) => {
                let skipped = from + done.len();
                tracing::error!(event.id = %events[skipped].0.id, error = %format!("{e:#}"), "event skipped in rebuild");
                from = skipped + 1;
            }
            Err((done, HandleError::Transient(e))) => {
                attempt += 1;
                anyhow::ensure!(
                    attempt <= 20,
                    "the database stayed unreachable; rebuild abandoned"
                );
                tracing::warn!(attempt, error = %format!("{e:#}"), "rebuild write failed; retrying");
                from += done.len();
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    Ok(())
}
