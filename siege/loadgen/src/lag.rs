//! Consumer-group lag as Kafka's own tools report it: for each live group (one with members),
//! the messages between its committed offset and the end of each partition of the topics it
//! consumes. Only the deployment's topics count (shared-events' topics with TOPIC_PREFIX), so
//! groups of tests sharing the broker under prefixes of their own are left out. Consumers here
//! commit the offsets they stored once a second, so a group that has caught up may show up to a
//! second's worth of messages for up to a second.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;
use shared_events::{Topic, Topics};

const TIMEOUT: Duration = Duration::from_secs(10);
const POLL_EVERY: Duration = Duration::from_millis(250);

#[derive(Debug, Serialize)]
pub struct DrainReport {
    /// Messages behind, summed over the live groups, when the measurement started.
    pub at_end_total: i64,
    pub at_end: BTreeMap<String, i64>,
    /// Seconds until each group had caught up (lag 0); None: not within the timeout.
    pub drained_after_s: BTreeMap<String, Option<f64>>,
    /// Until every group had caught up; None: not within the timeout.
    pub drain_s: Option<f64>,
    /// The group that took longest.
    pub slowest: Option<String>,
    pub timeout_s: f64,
}

/// Which cluster and deployment to watch, and for how long at most.
#[derive(Clone)]
pub struct Watch {
    pub brokers: String,
    pub topics: Topics,
    pub drain_timeout: Duration,
}

/// Lag now, then every POLL_EVERY until each group that lagged has caught up (or the timeout).
pub async fn drain(watch: &Watch) -> anyhow::Result<DrainReport> {
    let watch = watch.clone();
    tokio::task::spawn_blocking(move || drain_blocking(watch))
        .await
        .context("the lag reader stopped")?
}

fn drain_blocking(watch: Watch) -> anyhow::Result<DrainReport> {
    let (start, timeout) = (Instant::now(), watch.drain_timeout);
    let mut reader = LagReader::new(&watch.brokers, watch.topics)?;
    let at_end = reader.snapshot()?;
    let mut drained: BTreeMap<String, Option<f64>> = at_end
        .iter()
        .map(|(group, &lag)| (group.clone(), (lag <= 0).then_some(0.0)))
        .collect();
    while drained.values().any(Option::is_none) && start.elapsed() < timeout {
        std::thread::sleep(POLL_EVERY);
        let now = reader.snapshot()?;
        let elapsed = (start.elapsed().as_secs_f64() * 10.0).round() / 10.0;
        for (group, done) in drained.iter_mut() {
            if done.is_none() && now.get(group).is_some_and(|&lag| lag <= 0) {
                *done = Some(elapsed);
            }
        }
    }
    let all_done = drained.values().all(Option::is_some);
    let slowest = drained
        .iter()
        .filter(|(_, done)| done.is_none_or(|s| s > 0.0))
        .max_by(|a, b| {
            a.1.unwrap_or(f64::INFINITY)
                .total_cmp(&b.1.unwrap_or(f64::INFINITY))
        })
        .map(|(group, _)| group.clone());
    Ok(DrainReport {
        at_end_total: at_end.values().sum(),
        drain_s: all_done.then(|| drained.values().flatten().fold(0.0, |a, &b| f64::max(a, b))),
        at_end,
        drained_after_s: drained,
        slowest,
        timeout_s: timeout.as_secs_f64(),
    })
}

/// Reads committed offsets of other groups without joining them: a consumer that carries the
/// group's id but never subscribes only fetches offsets.
struct LagReader {
    brokers: String,
    topics: Topics,
    observer: BaseConsumer,
    groups: HashMap<String, BaseConsumer>,
}

impl LagReader {
    fn new(brokers: &str, topics: Topics) -> anyhow::Result<Self> {
        Ok(Self {
            brokers: brokers.to_owned(),
            topics,
            observer: config(brokers)
                .create()
                .context("cannot create a Kafka client")?,
            groups: HashMap::new(),
        })
    }

    /// Lag per live group.
    fn snapshot(&mut self) -> anyhow::Result<BTreeMap<String, i64>> {
        let groups = self
            .observer
            .fetch_group_list(None, TIMEOUT)
            .context("cannot list consumer groups")?;
        // Each live group with the topics its members are assigned now (a group keeps the
        // offsets of a topic it no longer reads, whose "lag" would only grow).
        let live: Vec<(String, HashSet<String>)> = groups
            .groups()
            .iter()
            .filter(|g| !g.members().is_empty() && g.name().starts_with(self.topics.prefix()))
            .map(|g| {
                let assigned = g
                    .members()
                    .iter()
                    .filter_map(|m| m.assignment())
                    .flat_map(assigned_topics)
                    .collect();
                (g.name().to_owned(), assigned)
            })
            .collect();
        let metadata = self
            .observer
            .fetch_metadata(None, TIMEOUT)
            .context("cannot read topic metadata")?;
        let mut partitions = TopicPartitionList::new();
        let ours: HashSet<String> = Topic::ALL.iter().map(|t| self.topics.name(*t)).collect();
        for topic in metadata.topics().iter().filter(|t| ours.contains(t.name())) {
            for partition in topic.partitions() {
                partitions.add_partition(topic.name(), partition.id());
            }
        }

        // Committed offsets per group; a group consumes the topics it has committed on.
        let mut committed = Vec::new();
        for (group, assigned) in live {
            let consumer = match self.groups.entry(group.clone()) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(
                    config(&self.brokers)
                        .set("group.id", &group)
                        .set("enable.auto.commit", "false")
                        .create()
                        .context("cannot create a Kafka client")?,
                ),
            };
            let offsets = consumer
                .committed_offsets(partitions.clone(), TIMEOUT)
                .with_context(|| format!("cannot read group {group}'s offsets"))?;
            let topics: HashSet<String> = offsets
                .elements()
                .iter()
                .filter(|e| matches!(e.offset(), Offset::Offset(_)))
                .map(|e| e.topic().to_owned())
                .filter(|t| assigned.is_empty() || assigned.contains(t))
                .collect();
            let consumed: Vec<(String, i32, Offset)> = offsets
                .elements()
                .iter()
                .filter(|e| topics.contains(e.topic()))
                .map(|e| (e.topic().to_owned(), e.partition(), e.offset()))
                .collect();
            // A group that never committed on the deployment's topics is not one of its own.
            if !consumed.is_empty() {
                committed.push((group, consumed));
            }
        }

        let mut watermarks: HashMap<(String, i32), (i64, i64)> = HashMap::new();
        let mut lags = BTreeMap::new();
        for (group, consumed) in committed {
            let mut lag = 0;
            for (topic, partition, offset) in consumed {
                let key = (topic, partition);
                let (low, high) = match watermarks.get(&key) {
                    Some(&w) => w,
                    None => {
                        let w = self
                            .observer
                            .fetch_watermarks(&key.0, key.1, TIMEOUT)
                            .with_context(|| format!("cannot read {}'s end offsets", key.0))?;
                        *watermarks.entry(key).or_insert(w)
                    }
                };
                // Nothing committed yet on a partition: the group starts from its beginning.
                lag += match offset {
                    Offset::Offset(o) => (high - o).max(0),
                    _ => high - low,
                };
            }
            lags.insert(group, lag);
        }
        Ok(lags)
    }
}

/// The topics in a member's assignment, as the consumer protocol encodes it (every version
/// starts alike: int16 version, int32 topic count, then per topic an int16-length name and an
/// int32-counted array of int32 partitions). Empty if it cannot be read.
fn assigned_topics(assignment: &[u8]) -> Vec<String> {
    fn read<const N: usize>(bytes: &[u8], at: &mut usize) -> Option<[u8; N]> {
        let chunk = bytes.get(*at..*at + N)?.try_into().ok()?;
        *at += N;
        Some(chunk)
    }
    let mut at = 2; // version
    let parse = |at: &mut usize| -> Option<Vec<String>> {
        let count = i32::from_be_bytes(read::<4>(assignment, at)?);
        let mut topics = Vec::new();
        for _ in 0..count.max(0) {
            let len = usize::try_from(i16::from_be_bytes(read::<2>(assignment, at)?)).ok()?;
            let name = std::str::from_utf8(assignment.get(*at..*at + len)?).ok()?;
            *at += len;
            let partitions = i32::from_be_bytes(read::<4>(assignment, at)?);
            *at += 4 * usize::try_from(partitions.max(0)).ok()?;
            topics.push(name.to_owned());
        }
        Some(topics)
    };
    parse(&mut at).unwrap_or_default()
}

fn config(brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("client.id", "loadgen-lag")
        .set("log_level", "3");
    config
}

#[cfg(test)]
mod tests {
    use super::assigned_topics;

    #[test]
    fn reads_the_topics_of_an_assignment() {
        let mut bytes = vec![0, 1, 0, 0, 0, 2];
        for (name, partitions) in [("fooddelivery.order", 2i32), ("fooddelivery.store", 1)] {
            bytes.extend((name.len() as i16).to_be_bytes());
            bytes.extend(name.as_bytes());
            bytes.extend(partitions.to_be_bytes());
            for p in 0..partitions {
                bytes.extend(p.to_be_bytes());
            }
        }
        bytes.extend((-1i32).to_be_bytes()); // no user data

        assert_eq!(
            assigned_topics(&bytes),
            ["fooddelivery.order", "fooddelivery.store"]
        );
        assert!(assigned_topics(&bytes[..9]).is_empty(), "truncated");
    }
}
