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
//!    History is read in time order across the partitions ([`history`]) and each order is
//!    written once it has been quiet for a while ([`window`]), with all its events together;
//!    the menu counts are summed in memory and written at the end.
//! 3. The pointer switches `active` to the new generation; the old one is dropped.

mod history;
mod window;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use anyhow::Context;
use backbone::{HandleError, Position};
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::{Offset, TopicPartitionList};
use secrecy::ExposeSecret;
use shared_events::{Envelope, Topic};

use crate::db::menus::{Counter, Tally};
use crate::db::store::{Store, Views};
use crate::events::{CONCURRENCY, Counts, TOPICS, classify, takes};
use crate::settings::Settings;
use window::Window;

/// Events of released orders folded together: new views are inserted together, in one request.
const BATCH: usize = 20_000;
/// An order is written once nothing has happened to it for this long (in the events' time):
/// the events of an order a customer is still waiting for are minutes apart.
const QUIET_MS: i64 = 10 * 60 * 1_000;
/// Most events held at once (about 100 MB); past it the quietest orders are written early.
const HELD: usize = 200_000;
/// Messages between two progress lines in the log.
const PROGRESS: u64 = 100_000;
/// Writes retried while the database is unreachable, 500 ms apart.
const ATTEMPTS: u32 = 20;
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
    .await?
    .remembering(settings.remembered);
    let previous = store
        .generations()
        .await
        .context("cannot read the live generation")?;
    let generation = format!("g{}", chrono::Utc::now().timestamp_millis());
    store.prepare(&generation).await?;
    store.set_building(Some(&generation)).await?;
    tracing::info!(%generation, previous = %previous.active, "rebuild started");

    let group = format!("mypage.rebuild-{}", uuid::Uuid::new_v4().simple());
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

    let views = store.views(&generation);
    let (mut history, reader) = history::read(settings.kafka.clone(), group, assignment, remaining);
    let mut window = Window::new(QUIET_MS, HELD);
    let mut writer = Writer::new(&views);
    let mut events = 0;
    while let Some(read) = history.recv().await {
        events += 1;
        let Some(envelope) = read.envelope else {
            continue;
        };
        let Some(order_id) = envelope.event.order_id() else {
            continue; // not about an order: the projection has nothing to do with it
        };
        window.hold(order_id, read.at_ms, (envelope, read.position));
        writer.add(window.release(read.at_ms)).await?;
        if events % PROGRESS == 0 {
            tracing::info!(%generation, events, held = window.len(), "rebuilding");
        }
    }
    reader.await.context("the history reader failed")??;
    writer.add(window.release_all()).await?;
    writer.finish().await?;

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
        let probe: BaseConsumer = kafka
            .base_config()
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

/// Writes released orders a batch at a time, and the menu counts at the end.
struct Writer<'a> {
    views: &'a Views,
    ready: Vec<(Envelope, Position)>,
    tally: Tally,
}

impl<'a> Writer<'a> {
    fn new(views: &'a Views) -> Self {
        Self {
            views,
            ready: Vec::with_capacity(BATCH),
            tally: Tally::default(),
        }
    }

    async fn add(&mut self, released: Vec<(Envelope, Position)>) -> anyhow::Result<()> {
        self.ready.extend(released);
        if self.ready.len() >= BATCH {
            self.write().await?;
        }
        Ok(())
    }

    async fn finish(mut self) -> anyhow::Result<()> {
        self.write().await?;
        patiently(|| self.views.add_tally(&self.tally, CONCURRENCY))
            .await
            .map_err(abandon)
    }

    async fn write(&mut self) -> anyhow::Result<()> {
        let ready = std::mem::take(&mut self.ready);
        let events: Vec<_> = ready.iter().map(|(e, p)| (e, *p)).collect();
        self.fold(&events).await
    }

    /// Folds events into their views (each order's together) and sums their count changes. An
    /// event that cannot be folded is found by halving and skipped, as the live consumer would
    /// have dead-lettered it.
    async fn fold(&mut self, events: &[(&Envelope, Position)]) -> anyhow::Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        match patiently(|| self.views.apply_all(events, CONCURRENCY)).await {
            Ok(applied) => {
                let counts = vec![Counts::Yes(Counter::Rebuild); events.len()];
                for take in takes(events, &applied, &counts) {
                    self.tally.add(&take);
                }
                Ok(())
            }
            Err(HandleError::Failed(e)) if events.len() == 1 => {
                tracing::error!(event.id = %events[0].0.id, error = %format!("{e:#}"), "event skipped in rebuild");
                Ok(())
            }
            Err(HandleError::Failed(_)) => {
                let (first, second) = events.split_at(events.len() / 2);
                Box::pin(self.fold(first)).await?;
                Box::pin(self.fold(second)).await
            }
            Err(e) => Err(abandon(e)),
        }
    }
}

/// Retries while the database is unreachable, for a while.
async fn patiently<T, F, Fut>(mut write: F) -> Result<T, HandleError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let mut attempt = 0;
    loop {
        match write().await.map_err(classify) {
            Err(HandleError::Transient(e)) if attempt < ATTEMPTS => {
                attempt += 1;
                tracing::warn!(attempt, error = %format!("{e:#}"), "rebuild write failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            done => return done,
        }
    }
}

fn abandon(e: HandleError) -> anyhow::Error {
    anyhow::anyhow!("{e}").context("the database stayed unreachable; rebuild abandoned")
}
