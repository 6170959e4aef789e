//! What the suite does on Kafka itself: where the dead-letter topic stands and what reached it,
//! poison messages on every topic (R6), moving a stopped consumer group's offsets back (R5), and
//! which broker leads the order path's partitions (R12 kills it).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde::Serialize;
use shared_events::{Topic, Topics};

const TIMEOUT: Duration = Duration::from_secs(10);
/// In every poison message, so that its dead letters can be told from others.
pub const POISON_MARK: &str = "chaos-poison";

fn config(brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("client.id", "chaos")
        .set("log_level", "3");
    config
}

fn topics() -> Topics {
    Topics::new(std::env::var("TOPIC_PREFIX").unwrap_or_default())
}

/// The broker leading the most partitions of the topics an order's life crosses (order,
/// payment, store, delivery), with how many of those partitions it leads: the one whose death
/// moves the most leadership at once. Ties go to the lowest id.
pub fn busiest_leader(brokers: &str) -> anyhow::Result<(i32, usize)> {
    let client: BaseConsumer = config(brokers).create()?;
    let metadata = client
        .fetch_metadata(None, TIMEOUT)
        .context("cannot read the cluster's metadata")?;
    let names: Vec<String> = [Topic::Order, Topic::Payment, Topic::Store, Topic::Delivery]
        .iter()
        .map(|t| topics().name(*t))
        .collect();
    let mut led: BTreeMap<i32, usize> = BTreeMap::new();
    for topic in metadata
        .topics()
        .iter()
        .filter(|t| names.iter().any(|n| n == t.name()))
    {
        for partition in topic.partitions() {
            *led.entry(partition.leader()).or_default() += 1;
        }
    }
    led.into_iter()
        .filter(|(leader, _)| *leader >= 0)
        .max_by_key(|(leader, count)| (*count, std::cmp::Reverse(*leader)))
        .context("no partition of the order path's topics has a leader")
}

/// How many partitions of the cluster (internal topics included) have fewer replicas in sync
/// than assigned: a rolling restart takes the next broker down only once this is 0.
pub fn under_replicated(brokers: &str) -> anyhow::Result<usize> {
    let client: BaseConsumer = config(brokers).create()?;
    let metadata = client
        .fetch_metadata(None, TIMEOUT)
        .context("cannot read the cluster's metadata")?;
    Ok(metadata
        .topics()
        .iter()
        .flat_map(|t| t.partitions())
        .filter(|p| p.isr().len() < p.replicas().len())
        .count())
}

fn partitions(client: &BaseConsumer, topic: &str) -> anyhow::Result<Vec<i32>> {
    let metadata = client
        .fetch_metadata(Some(topic), TIMEOUT)
        .with_context(|| format!("cannot read {topic}'s metadata"))?;
    Ok(metadata
        .topics()
        .iter()
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect())
}

/// Partition → end offset of the dead-letter topic now.
pub async fn dead_letter_ends(brokers: &str) -> anyhow::Result<BTreeMap<String, i64>> {
    let brokers = brokers.to_owned();
    tokio::task::spawn_blocking(move || {
        let client: BaseConsumer = config(&brokers).create()?;
        let topic = topics().name(Topic::DeadLetter);
        let mut ends = BTreeMap::new();
        for partition in partitions(&client, &topic)? {
            let (_, high) = client.fetch_watermarks(&topic, partition, TIMEOUT)?;
            ends.insert(partition.to_string(), high);
        }
        Ok(ends)
    })
    .await?
}

/// One dead letter: which consumer gave up on a message of which topic, and whether it was
/// one of the suite's poison messages (and which: its key).
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    pub consumer: String,
    pub topic: String,
    pub key: String,
    pub poison: bool,
    pub error: String,
}

/// The dead letters written since `from` (partition → offset).
pub async fn dead_letters_since(
    brokers: &str,
    from: BTreeMap<String, i64>,
) -> anyhow::Result<Vec<DeadLetter>> {
    let brokers = brokers.to_owned();
    tokio::task::spawn_blocking(move || {
        let client: BaseConsumer = config(&brokers)
            .set("group.id", "chaos-dead-letter-reader")
            .set("enable.auto.commit", "false")
            .create()?;
        let topic = topics().name(Topic::DeadLetter);
        let mut assignment = TopicPartitionList::new();
        let mut ends = BTreeMap::new();
        for partition in partitions(&client, &topic)? {
            let (low, high) = client.fetch_watermarks(&topic, partition, TIMEOUT)?;
            let start = from
                .get(&partition.to_string())
                .copied()
                .unwrap_or(low)
                .max(low);
            if start < high {
                assignment.add_partition_offset(&topic, partition, Offset::Offset(start))?;
                ends.insert(partition, high);
            }
        }
        let mut letters = Vec::new();
        if ends.is_empty() {
            return Ok(letters);
        }
        client.assign(&assignment)?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ends.is_empty() && Instant::now() < deadline {
            let Some(message) = client.poll(Duration::from_millis(500)) else {
                continue;
            };
            let message = message?;
            let header = |name: &str| {
                message.headers().and_then(|h| {
                    h.iter()
                        .find(|h| h.key == name)
                        .and_then(|h| h.value)
                        .map(|v| String::from_utf8_lossy(v).into_owned())
                })
            };
            let payload = message.payload().unwrap_or_default();
            let poison = String::from_utf8_lossy(payload).contains(POISON_MARK)
                || header("dlq.error").is_some_and(|e| e.contains(POISON_MARK));
            letters.push(DeadLetter {
                consumer: header("dlq.consumer").unwrap_or_default(),
                topic: header("dlq.topic").unwrap_or_default(),
                key: message
                    .key()
                    .map(|k| String::from_utf8_lossy(k).into_owned())
                    .unwrap_or_default(),
                poison,
                error: header("dlq.error").unwrap_or_default(),
            });
            if ends
                .get(&message.partition())
                .is_some_and(|&end| message.offset() + 1 >= end)
            {
                ends.remove(&message.partition());
            }
        }
        Ok(letters)
    })
    .await?
}

/// Publishes `per_kind` messages of each poison kind to every topic consumers read: not JSON,
/// JSON that is no envelope, an envelope of a schema version no consumer reads. Returns how
/// many were sent.
pub async fn poison(brokers: &str, per_kind: usize) -> anyhow::Result<usize> {
    let producer: FutureProducer = config(brokers)
        .set("message.timeout.ms", "30000")
        .create()
        .context("cannot create a Kafka producer")?;
    let topics = topics();
    let mut sent = 0;
    for topic in Topic::ALL.into_iter().filter(|t| *t != Topic::DeadLetter) {
        let name = topics.name(topic);
        for _ in 0..per_kind {
            for payload in poison_payloads() {
                let key = uuid::Uuid::new_v4().to_string();
                producer
                    .send(
                        FutureRecord::to(&name).key(&key).payload(&payload),
                        Duration::from_secs(30),
                    )
                    .await
                    .map_err(|(e, _)| anyhow::anyhow!("cannot publish to {name}: {e}"))?;
                sent += 1;
            }
        }
    }
    Ok(sent)
}

fn poison_payloads() -> Vec<String> {
    let id = uuid::Uuid::new_v4();
    vec![
        format!("{POISON_MARK}: this is not JSON {{"),
        format!(r#"{{"{POISON_MARK}": true, "id": "{id}"}}"#),
        format!(
            r#"{{"id":"{id}","type":"OrderPlaced","version":999,"orderId":"{id}","occurredAt":"2026-12-04T00:00:00Z","source":"{POISON_MARK}","data":{{}}}}"#
        ),
    ]
}

/// Moves `group`'s committed offsets on the deployment's topics back to the first offset at or
/// after `since_ms` (None: the beginning of each partition). The group must have no member:
/// its service stopped (a static member is gone only once its session has timed out), so this
/// retries for up to a minute.
pub async fn reset_group(
    brokers: &str,
    group: &str,
    since_ms: Option<i64>,
) -> anyhow::Result<usize> {
    let brokers = brokers.to_owned();
    let group = group.to_owned();
    tokio::task::spawn_blocking(move || {
        let client: BaseConsumer = config(&brokers)
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .create()?;
        let topics = topics();
        let mut all = TopicPartitionList::new();
        for topic in Topic::ALL {
            let name = topics.name(topic);
            for partition in partitions(&client, &name)? {
                all.add_partition(&name, partition);
            }
        }
        let committed = client.committed_offsets(all, TIMEOUT)?;
        let mut target = TopicPartitionList::new();
        for element in committed.elements() {
            if !matches!(element.offset(), Offset::Offset(_)) {
                continue;
            }
            let offset = match since_ms {
                None => {
                    let (low, _) =
                        client.fetch_watermarks(element.topic(), element.partition(), TIMEOUT)?;
                    Offset::Offset(low)
                }
                Some(ms) => Offset::Offset(ms),
            };
            target.add_partition_offset(element.topic(), element.partition(), offset)?;
        }
        anyhow::ensure!(
            target.count() > 0,
            "group {group} has committed nothing on the deployment's topics"
        );
        if since_ms.is_some() {
            let found = client.offsets_for_times(target, TIMEOUT)?;
            let mut resolved = TopicPartitionList::new();
            for element in found.elements() {
                let offset = match element.offset() {
                    Offset::Offset(o) => Offset::Offset(o),
                    // No message that late: the end of the partition.
                    _ => Offset::Offset(
                        client
                            .fetch_watermarks(element.topic(), element.partition(), TIMEOUT)?
                            .1,
                    ),
                };
                resolved.add_partition_offset(element.topic(), element.partition(), offset)?;
            }
            target = resolved;
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match client.commit(&target, CommitMode::Sync) {
                Ok(()) => return Ok(target.count()),
                Err(e) if Instant::now() < deadline => {
                    eprintln!("chaos: group {group} not reset yet ({e}); retrying");
                    std::thread::sleep(Duration::from_secs(2));
                }
                Err(e) => return Err(e).context(format!("cannot reset group {group}")),
            }
        }
    })
    .await?
}
