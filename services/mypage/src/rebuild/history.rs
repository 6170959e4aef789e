//! Kafka's history of the read topics, merged into one stream in time order.
//!
//! Read the usual way, a consumer takes each partition in chunks of about a megabyte, so the four
//! topics advance at different speeds (the order topic carries three events per order, payment one)
//! and an order's events end up far apart. Here each partition gets a queue of its own, and the
//! next message is always the earliest of the partitions' next ones (by the record's timestamp),
//! so an order's events come close together and the rebuild can write each order once (see
//! [`super::window`]). Each partition is read from its beginning to a fixed end.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use backbone::{KafkaSettings, Position};
use rdkafka::consumer::base_consumer::PartitionQueue;
use rdkafka::consumer::{BaseConsumer, Consumer as _, DefaultConsumerContext};
use rdkafka::message::OwnedMessage;
use rdkafka::{Message, TopicPartitionList};
use shared_events::{Decoded, Envelope};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long to wait for a partition's next message before looking at the others' again.
const POLL: Duration = Duration::from_millis(100);
/// Messages decoded ahead of the writer.
const AHEAD: usize = 8_192;

/// One message of history.
pub struct Read {
    /// `None` if the message is not an event this version reads.
    pub envelope: Option<Envelope>,
    pub position: Position,
    /// The record's timestamp, in milliseconds.
    pub at_ms: i64,
}

/// Reads the `assignment` from the beginning, each partition up to its offset in `ends`, in time
/// order, on a thread of its own. The stream ends when every partition has been read; the handle
/// then tells whether that was the end of history or a failure.
pub fn read(
    kafka: KafkaSettings,
    group: String,
    assignment: TopicPartitionList,
    ends: HashMap<(String, i32), i64>,
) -> (mpsc::Receiver<Read>, JoinHandle<anyhow::Result<()>>) {
    let (sender, receiver) = mpsc::channel(AHEAD);
    let reader = tokio::task::spawn_blocking(move || {
        let consumer = Arc::new(kafka.blocking_consumer(&group)?);
        merge(&consumer, &assignment, ends, &sender)
    });
    (receiver, reader)
}

/// One partition: its queue, and what has been taken from it but not handed on yet.
struct Source {
    topic: String,
    partition: i32,
    end: i64,
    /// The next offset expected: anything before it was handed on already.
    next: i64,
    queue: PartitionQueue<DefaultConsumerContext>,
    buffered: VecDeque<OwnedMessage>,
}

impl Source {
    fn take(&mut self, message: OwnedMessage) {
        if message.offset() >= self.next && message.offset() < self.end {
            self.next = message.offset() + 1;
            self.buffered.push_back(message);
        }
    }

    fn finished(&self) -> bool {
        self.buffered.is_empty() && self.next >= self.end
    }

    fn head_ms(&self) -> i64 {
        self.buffered
            .front()
            .map_or(i64::MAX, |m| m.timestamp().to_millis().unwrap_or(0))
    }
}

fn merge(
    consumer: &Arc<BaseConsumer>,
    assignment: &TopicPartitionList,
    ends: HashMap<(String, i32), i64>,
    sender: &mpsc::Sender<Read>,
) -> anyhow::Result<()> {
    consumer
        .assign(assignment)
        .context("cannot assign partitions")?;
    let mut sources = Vec::with_capacity(ends.len());
    for ((topic, partition), end) in ends {
        let queue = consumer
            .split_partition_queue(&topic, partition)
            .with_context(|| format!("no partition {partition} in {topic}"))?;
        sources.push(Source {
            topic,
            partition,
            end,
            next: 0,
            queue,
            buffered: VecDeque::new(),
        });
    }
    let index: HashMap<(String, i32), usize> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| ((s.topic.clone(), s.partition), i))
        .collect();
    loop {
        // Messages fetched before a partition had its queue come through the consumer's own.
        while let Some(message) = consumer.poll(Duration::ZERO) {
            let message = message.context("reading history failed")?.detach();
            let key = (message.topic().to_owned(), message.partition());
            if let Some(&i) = index.get(&key) {
                sources[i].take(message);
            }
        }
        // The earliest message can be chosen only once every partition not yet read to its
        // end has shown its next one.
        let mut waiting = false;
        for source in sources
            .iter_mut()
            .filter(|s| s.buffered.is_empty() && !s.finished())
        {
            match source.queue.poll(POLL) {
                Some(message) => source.take(message.context("reading history failed")?.detach()),
                None => waiting = true,
            }
        }
        if waiting {
            continue;
        }
        let earliest = sources
            .iter_mut()
            .filter(|s| !s.buffered.is_empty())
            .min_by_key(|s| s.head_ms());
        let Some(message) = earliest.and_then(|s| s.buffered.pop_front()) else {
            return Ok(()); // every partition read to its end
        };
        let read = Read {
            envelope: match Envelope::decode(message.payload().unwrap_or_default()) {
                Ok(Decoded::Event(envelope)) => Some(*envelope),
                _ => None,
            },
            position: Position {
                partition: message.partition(),
                offset: message.offset(),
            },
            at_ms: message.timestamp().to_millis().unwrap_or(0),
        };
        if sender.blocking_send(read).is_err() {
            return Ok(()); // the writer gave up
        }
    }
}
