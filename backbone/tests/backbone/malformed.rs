//! Hostile or broken messages on every topic: a newer schema version, missing fields, wrong
//! types, no JSON at all, a payload at the broker's size limit. Each is dead-lettered with the
//! reason, once, and the valid event behind it on the same partition is still applied.

use std::time::Duration;

use async_trait::async_trait;
use backbone::consumer::{Consumer, RetryPolicy};
use backbone::{EventHandler, HandleError, PgInbox};
use serde_json::{Value, json};
use service_runtime::retry::Backoff;
use shared_events::{Envelope, Event, Topic};
use sqlx::PgConnection;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::support::{Stack, event_for};

/// The topics services consume (the dead-letter topic is read only by the replayer).
const TOPICS: [Topic; 4] = [Topic::Order, Topic::Payment, Topic::Store, Topic::Delivery];

/// Records every event of every topic it reads.
struct Everything;

#[async_trait]
impl EventHandler for Everything {
    fn name(&self) -> &'static str {
        "everything"
    }

    fn topics(&self) -> Vec<Topic> {
        TOPICS.to_vec()
    }

    fn accepts(&self, _: &Event) -> bool {
        true
    }

    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope) -> Result<(), HandleError> {
        sqlx::query("insert into effect (event_id, instance) values ($1, 'everything')")
            .bind(envelope.id)
            .execute(tx)
            .await?;
        Ok(())
    }
}

/// A valid envelope of `order_id`, as JSON to break.
fn valid_json(order_id: Uuid) -> Value {
    event_for(order_id).to_json()
}

/// The broken messages, each with what its dead letter's error must say.
fn broken(order_id: Uuid) -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let with = |change: &dyn Fn(&mut Value)| {
        let mut value = valid_json(order_id);
        change(&mut value);
        serde_json::to_vec(&value).unwrap()
    };
    vec![
        (
            "a newer schema version",
            with(&|v| v["version"] = json!(99)),
            "version 99",
        ),
        (
            "an envelope without its id",
            with(&|v| {
                v.as_object_mut().unwrap().remove("id");
            }),
            "not an event envelope",
        ),
        (
            "data without a required field",
            with(&|v| {
                v["data"].as_object_mut().unwrap().remove("customerId");
            }),
            "customerId",
        ),
        (
            "a field of the wrong type",
            with(&|v| v["data"]["orderId"] = json!(42)),
            "OrderCanceled",
        ),
        (
            "no JSON at all",
            b"\x00\xff{{".to_vec(),
            "not an event envelope",
        ),
        (
            "garbage at the size limit",
            // Just under the producer's 1,000,000-byte message limit: its dead letter, with the
            // headers that say where it came from, is over it.
            format!("{{\"id\":\"{}", "x".repeat(999_850)).into_bytes(),
            "not an event envelope",
        ),
    ]
}

#[tokio::test]
async fn malformed_events_on_every_topic_are_dead_lettered_and_the_events_behind_them_applied() {
    // Arrange: a consumer of every topic.
    let stack = Stack::start().await;
    let shutdown = CancellationToken::new();
    let mut consumer = Consumer::new(
        PgInbox::new(stack.pool().clone(), Everything),
        stack.kafka.clone(),
        stack.kafka.producer().unwrap(),
    );
    consumer.retry = RetryPolicy {
        max_attempts: 3,
        backoff: Backoff::new(Duration::from_millis(20), Duration::from_millis(100)),
    };
    consumer.spawn(shutdown.child_token()).unwrap();

    // Act: on each topic, under one key each, every broken message, then a valid event.
    let mut expected = Vec::new();
    let mut healthy = Vec::new();
    for topic in TOPICS {
        let order_id = Uuid::new_v4();
        for (what, payload, error) in broken(order_id) {
            test_stack::send_raw(&stack.kafka, topic, &order_id.to_string(), &payload).await;
            expected.push((topic, what, error));
        }
        let after = event_for(order_id);
        let producer = test_stack::raw_producer(&stack.kafka);
        producer
            .send(
                rdkafka::producer::FutureRecord::to(&stack.kafka.topics.name(topic))
                    .key(&order_id.to_string())
                    .payload(&after.to_bytes()),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
        healthy.push(after.id);
    }

    // Assert: every valid event applied once; every broken message dead-lettered once, from
    // its topic, with its reason.
    stack.wait_for_effects(healthy.len() as i64).await;
    assert_eq!(stack.effects_of(&healthy).await, vec![1; healthy.len()]);
    // One more than expected, to see that there is none: waits out the timeout.
    let letters = test_stack::read_topic(
        &stack.kafka,
        Topic::DeadLetter,
        expected.len() + 1,
        Duration::from_secs(15),
    )
    .await;
    assert_eq!(
        letters.len(),
        expected.len(),
        "one dead letter per broken message"
    );
    for topic in TOPICS {
        let name = stack.kafka.topics.name(topic);
        let from_topic: Vec<_> = letters
            .iter()
            .filter(|l| test_stack::header_of(*l, "dlq.topic").as_deref() == Some(name.as_str()))
            .collect();
        let wanted: Vec<_> = expected.iter().filter(|(t, ..)| *t == topic).collect();
        assert_eq!(from_topic.len(), wanted.len(), "dead letters from {name}");
        // A partition keeps its order: the letters come in the order the messages were sent.
        for (letter, (_, what, error)) in from_topic.iter().zip(wanted) {
            let reason = test_stack::header_of(*letter, "dlq.error").unwrap_or_default();
            assert!(
                reason.contains(error),
                "{what} on {name}: {reason:?} does not say {error:?}"
            );
        }
    }
    // The one at the size limit went without its payload (with it, the letter was too large
    // to send, and its partition stalled), saying how large it was.
    let without_payload: Vec<_> = letters
        .iter()
        .filter_map(|l| test_stack::header_of(l, backbone::consumer::PAYLOAD_DROPPED))
        .collect();
    assert_eq!(without_payload.len(), TOPICS.len());
    assert!(
        without_payload
            .iter()
            .all(|size| size.parse::<usize>().unwrap() > 999_850)
    );
    shutdown.cancel();
    stack.finish().await;
}
