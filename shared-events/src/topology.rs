//! Who writes and who reads each topic, and how long it keeps what it holds: the one declaration
//! the production cluster's topics and users (Strimzi's `KafkaTopic` and `KafkaUser`) and the
//! docs' topic table are generated from (`contracts::topology`).
//!
//! The consumers' group names and topics are the services' event handlers' own (`name()`,
//! `topics()` in each service's `events.rs`); a test in `contracts` holds them to this list.

use crate::Topic;

/// Replicas of every topic in a replicated cluster (the production overlay's three brokers);
/// writes wait for two of them (`min.insync.replicas`, set on the cluster).
pub const REPLICATION_FACTOR: i32 = 3;

/// How long a topic keeps its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// Never deleted: the topic is history that a read model is rebuilt from.
    Forever,
    /// Deleted after this many days.
    Days(u32),
}

impl Retention {
    /// Kafka's `retention.ms` for it (`-1`: forever).
    pub fn millis(self) -> i64 {
        match self {
            Retention::Forever => -1,
            Retention::Days(days) => i64::from(days) * 24 * 60 * 60 * 1000,
        }
    }
}

/// Who writes to a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Producer {
    /// One service, through its transactional outbox.
    Service(&'static str),
    /// Every service with a consumer (what it gave up on), and the dead-letter replayer.
    EveryConsumer,
}

/// A topic as the cluster keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicSpec {
    pub topic: Topic,
    pub partitions: i32,
    pub retention: Retention,
    pub producer: Producer,
}

/// A consumer group: the service it runs in, its name (the handler's `name()`, the group id
/// without the deployment's `TOPIC_PREFIX`) and the topics it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerSpec {
    pub service: &'static str,
    pub group: &'static str,
    pub topics: &'static [Topic],
}

/// Every topic, in `Topic::ALL`'s order. Not compacted: a topic is a sequence of events, and
/// compaction would keep only an order's last one. Three partitions: the most replicas of one
/// consumer group that get work (components/keda scales to three).
pub const TOPICS: [TopicSpec; 6] = [
    event_topic(Topic::Order, "order"),
    event_topic(Topic::Payment, "payment"),
    event_topic(Topic::Store, "store"),
    event_topic(Topic::Delivery, "delivery"),
    event_topic(Topic::Review, "review"),
    TopicSpec {
        topic: Topic::DeadLetter,
        partitions: 3,
        // Long enough to notice, fix and replay (`dlq-replay`) a consumer's failure.
        retention: Retention::Days(14),
        producer: Producer::EveryConsumer,
    },
];

/// An event topic: its service's outbox writes it, and it is kept forever, since mypage's read
/// model is rebuilt from the whole history (`mypage rebuild`).
const fn event_topic(topic: Topic, service: &'static str) -> TopicSpec {
    TopicSpec {
        topic,
        partitions: 3,
        retention: Retention::Forever,
        producer: Producer::Service(service),
    }
}

/// Every consumer group of the services.
pub const CONSUMERS: [ConsumerSpec; 10] = [
    consumer("order", "order.menu", &[Topic::Store]),
    consumer("order", "order.progress", &[Topic::Store, Topic::Delivery]),
    consumer("payment", "payment.refunds", &[Topic::Order]),
    consumer("store", "store.orders", &[Topic::Order]),
    consumer("store", "store.ratings", &[Topic::Review]),
    consumer("delivery", "delivery.deliveries", &[Topic::Order]),
    consumer(
        "notification",
        "notification.notifier",
        &[Topic::Order, Topic::Payment, Topic::Store, Topic::Delivery],
    ),
    consumer(
        "mypage",
        "mypage.projection",
        &[Topic::Order, Topic::Payment, Topic::Store, Topic::Delivery],
    ),
    consumer("mypage", "mypage.ratings", &[Topic::Review]),
    consumer(
        "review",
        "review.facts",
        &[Topic::Order, Topic::Delivery, Topic::Store],
    ),
];

const fn consumer(
    service: &'static str,
    group: &'static str,
    topics: &'static [Topic],
) -> ConsumerSpec {
    ConsumerSpec {
        service,
        group,
        topics,
    }
}

/// Groups a service makes up as it goes, by their prefix: `mypage rebuild` reads the history
/// under a fresh group each time (`mypage.rebuild-<uuid>`, and `mypage.rebuild-probe`).
pub const GROUP_PREFIXES: [(&str, &str); 1] = [("mypage", "mypage.rebuild-")];

/// The services that speak to Kafka, in the order of the README's table.
pub const SERVICES: [&str; 7] = [
    "order",
    "payment",
    "store",
    "delivery",
    "notification",
    "mypage",
    "review",
];

/// The dead-letter replayer (`dlq-replay`): reads the dead-letter topic in a group of its own and
/// writes each letter back to the topic it came from.
pub const REPLAYER: &str = "dlq-replay";

/// The topic a service publishes through its outbox, if any.
pub fn produced_by(service: &str) -> Option<Topic> {
    TOPICS
        .iter()
        .find(|t| matches!(t.producer, Producer::Service(s) if s == service))
        .map(|t| t.topic)
}

/// A service's consumer groups.
pub fn consumers_of(service: &str) -> impl Iterator<Item = &'static ConsumerSpec> + '_ {
    CONSUMERS.iter().filter(move |c| c.service == service)
}

/// The consumer groups reading a topic.
pub fn readers_of(topic: Topic) -> impl Iterator<Item = &'static ConsumerSpec> {
    CONSUMERS.iter().filter(move |c| c.topics.contains(&topic))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_is_declared_once_in_the_order_of_all() {
        let declared: Vec<Topic> = TOPICS.iter().map(|t| t.topic).collect();
        assert_eq!(declared, Topic::ALL);
    }

    #[test]
    fn every_group_belongs_to_a_known_service_under_its_name() {
        for c in CONSUMERS {
            assert!(SERVICES.contains(&c.service), "{}", c.service);
            assert!(
                c.group.starts_with(&format!("{}.", c.service)),
                "{}",
                c.group
            );
            assert!(!c.topics.contains(&Topic::DeadLetter), "{}", c.group);
        }
        for (service, prefix) in GROUP_PREFIXES {
            assert!(prefix.starts_with(&format!("{service}.")), "{prefix}");
        }
    }

    #[test]
    fn every_event_topic_has_readers() {
        for spec in TOPICS.iter().filter(|t| t.topic != Topic::DeadLetter) {
            assert!(readers_of(spec.topic).next().is_some(), "{}", spec.topic);
        }
    }
}
