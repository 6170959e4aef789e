//! Poison messages go to the dead-letter topic and the partition moves on.

use std::time::Duration;

use rdkafka::Message;
use shared_events::Topic;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::support::{Recorder, Stack, event, poison};

#[tokio::test]
async fn a_malformed_message_is_dead_lettered_with_its_origin_and_later_messages_still_flow() {
    // Arrange
    let stack = Stack::start().await;
    let shutdown = CancellationToken::new();
    stack.relay(&shutdown);
    stack.consumer("a", &shutdown);
    let key = Uuid::new_v4().to_string();

    // Act: garbage, then a valid event on the same partition (same key).
    test_stack::send_raw(&stack.kafka, Topic::Order, &key, b"{not json").await;
    let mut after = event();
    if let shared_events::Event::OrderCanceled(e) = &mut after.event {
        e.order_id = key.parse().unwrap();
    }
    stack.enqueue(std::slice::from_ref(&after)).await;

    // Assert
    stack.wait_for_effects(1).await;
    assert_eq!(stack.effects_of(&[after.id]).await, [1]);
    let dead =
        test_stack::read_topic(&stack.kafka, Topic::DeadLetter, 1, Duration::from_secs(10)).await;
    assert_eq!(dead.len(), 1);
    let letter = &dead[0];
    assert_eq!(letter.payload(), Some(&b"{not json"[..]));
    assert_eq!(letter.key(), Some(key.as_bytes()));
    let header = |k| test_stack::header_of(letter, k).unwrap_or_default();
    assert!(
        header("dlq.error").contains("not an event envelope"),
        "{}",
        header("dlq.error")
    );
    assert_eq!(header("dlq.topic"), stack.kafka.topics.name(Topic::Order));
    assert!(header("dlq.partition").parse::<i32>().is_ok());
    assert_eq!(header("dlq.offset"), "0");
    assert_eq!(header("dlq.consumer"), "recorder");
    shutdown.cancel();
    stack.finish().await;
}

#[tokio::test]
async fn an_event_that_keeps_failing_is_dead_lettered_after_bounded_retries() {
    // Arrange
    let stack = Stack::start().await;
    let shutdown = CancellationToken::new();
    stack.relay(&shutdown);
    stack.consumer_with(Recorder::new("a"), &shutdown);
    let poison = poison();
    let healthy = event();

    // Act
    stack.enqueue(&[poison.clone(), healthy.clone()]).await;

    // Assert: the healthy event is handled; the poison one is dead-lettered, not applied.
    stack.wait_for_effects(1).await;
    let dead =
        test_stack::read_topic(&stack.kafka, Topic::DeadLetter, 1, Duration::from_secs(10)).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(
        test_stack::header_of(&dead[0], "id"),
        Some(poison.id.to_string()),
        "the original headers travel with the dead letter"
    );
    assert!(
        test_stack::header_of(&dead[0], "dlq.error")
            .unwrap_or_default()
            .contains("cannot digest")
    );
    assert_eq!(stack.effects_of(&[poison.id, healthy.id]).await, [0, 1]);
    let inboxed: i64 = sqlx::query_scalar("select count(*) from inbox where event_id = $1")
        .bind(poison.id)
        .fetch_one(stack.pool())
        .await
        .unwrap();
    assert_eq!(inboxed, 0, "a failed handler leaves no inbox row behind");
    shutdown.cancel();
    stack.finish().await;
}

#[tokio::test]
async fn an_unknown_event_type_is_skipped_without_a_dead_letter() {
    let stack = Stack::start().await;
    let shutdown = CancellationToken::new();
    stack.relay(&shutdown);
    stack.consumer("a", &shutdown);
    let key = Uuid::new_v4().to_string();
    let future_event = format!(
        r#"{{"id":"{}","type":"LoyaltyPointsGranted","version":1,"occurredAt":"2026-11-23T10:00:00Z","source":"marketing","data":{{}}}}"#,
        Uuid::new_v4()
    );

    test_stack::send_raw(&stack.kafka, Topic::Order, &key, future_event.as_bytes()).await;
    let after = event();
    stack.enqueue(std::slice::from_ref(&after)).await;

    stack.wait_for_effects(1).await;
    let dead =
        test_stack::read_topic(&stack.kafka, Topic::DeadLetter, 1, Duration::from_secs(2)).await;
    assert!(dead.is_empty());
    shutdown.cancel();
    stack.finish().await;
}

#[tokio::test]
async fn replayed_dead_letters_reach_the_fixed_consumer_once_and_are_not_replayed_twice() {
    // Arrange: a consumer gives up on an event, which lands on the dead-letter topic.
    let stack = Stack::start().await;
    let shutdown = CancellationToken::new();
    stack.relay(&shutdown);
    let broken = CancellationToken::new();
    let consumer = stack.consumer("broken", &broken);
    let (poisoned, healthy) = (poison(), event());
    stack.enqueue(&[poisoned.clone(), healthy.clone()]).await;
    stack.wait_for_effects(1).await;
    let dead =
        test_stack::read_topic(&stack.kafka, Topic::DeadLetter, 1, Duration::from_secs(10)).await;
    assert_eq!(dead.len(), 1);
    broken.cancel();
    consumer.await.unwrap();

    // Act: the fix is deployed, then the dead letters are replayed.
    stack.consumer_with(Recorder::fixed("fixed"), &shutdown);
    let first = backbone::replay::replay_dead_letters(&stack.kafka, Some("recorder"))
        .await
        .unwrap();

    // Assert
    assert_eq!(first.replayed, 1);
    stack.wait_for_effects(2).await;
    assert_eq!(stack.effects_of(&[poisoned.id, healthy.id]).await, [1, 1]);
    let again = backbone::replay::replay_dead_letters(&stack.kafka, Some("recorder"))
        .await
        .unwrap();
    assert_eq!(
        again.replayed, 0,
        "a later replay starts after what was replayed"
    );
    // A run for every consumer keeps its own place: it may send the letter again, and the
    // consumer's inbox drops the copy.
    let everyone = backbone::replay::replay_dead_letters(&stack.kafka, None)
        .await
        .unwrap();
    assert_eq!(everyone.replayed, 1);
    test_stack::eventually(Duration::from_secs(30), "the copy consumed", || async {
        stack.committed_everything("recorder").await.then_some(())
    })
    .await;
    assert_eq!(stack.effects_of(&[poisoned.id, healthy.id]).await, [1, 1]);
    shutdown.cancel();
    stack.finish().await;
}

#[tokio::test]
async fn an_outbox_row_that_cannot_be_published_is_parked_and_the_rows_behind_it_flow() {
    // Arrange: a row for a topic that does not exist, then a healthy event behind it.
    let stack = Stack::start().await;
    let shutdown = CancellationToken::new();
    stack.consumer("a", &shutdown);
    let stuck = Uuid::new_v4();
    sqlx::query(
        "insert into outbox (event_id, topic, message_key, event_type, payload)
         values ($1, 'fooddelivery.nowhere', 'k', 'OrderCanceled', '{}')",
    )
    .bind(stuck)
    .execute(stack.pool())
    .await
    .unwrap();
    let healthy = event();
    stack.enqueue(std::slice::from_ref(&healthy)).await;

    // Act
    stack.relay_with(|relay| relay.max_attempts = 3, &shutdown);

    // Assert: parked after three attempts; the healthy row is published (and, sent again after
    // a failed batch, deduplicated by the consumer).
    let parked_after =
        test_stack::eventually(Duration::from_secs(20), "the row to be parked", || async {
            let (attempts, parked): (i32, bool) = sqlx::query_as(
                "select attempts, parked_at is not null from outbox where event_id = $1",
            )
            .bind(stuck)
            .fetch_one(stack.pool())
            .await
            .ok()?;
            parked.then_some(attempts)
        })
        .await;
    assert_eq!(parked_after, 3);
    test_stack::eventually(
        Duration::from_secs(20),
        "the healthy row to be marked published",
        || async {
            let published: bool = sqlx::query_scalar(
                "select published_at is not null from outbox where event_id = $1",
            )
            .bind(healthy.id)
            .fetch_one(stack.pool())
            .await
            .ok()?;
            published.then_some(())
        },
    )
    .await;
    stack.wait_for_effects(1).await;
    assert_eq!(stack.effects_of(&[healthy.id]).await, [1]);
    shutdown.cancel();
    stack.finish().await;
}
