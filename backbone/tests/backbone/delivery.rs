//! Outbox to consumer: delivery, duplicates, restarts and consumer groups.

use std::time::{Duration, Instant};

use shared_events::Topic;
use tokio_util::sync::CancellationToken;

use crate::support::{Stack, event, event_for, events};

#[tokio::test]
async fn an_event_written_to_the_outbox_reaches_the_consumer_once_even_when_delivered_twice() {
    // Arrange
    let stack = Stack::start().await;
    let shutdown = CancellationToken::new();
    stack.relay(&shutdown);
    stack.consumer("a", &shutdown);
    let first = event();

    // Act: publish through the outbox, then deliver the very same message again by hand.
    let started = Instant::now();
    stack.enqueue(std::slice::from_ref(&first)).await;
    stack.wait_for_effects(1).await;
    let latency = started.elapsed();
    test_stack::send_raw(&stack.kafka, Topic::Order, &first.key(), &first.to_bytes()).await;
    // Same key as the duplicate: same partition, so it is handled after the duplicate.
    let marker = event_for(first.event.key());
    let steady = Instant::now();
    stack.enqueue(std::slice::from_ref(&marker)).await;
    stack.wait_for_effects(2).await;
    let steady = steady.elapsed();

    // Assert
    assert_eq!(stack.effects_of(&[first.id, marker.id]).await, [1, 1]);
    let unpublished: i64 =
        sqlx::query_scalar("select count(*) from outbox where published_at is null")
            .fetch_one(stack.pool())
            .await
            .unwrap();
    assert_eq!(unpublished, 0);
    eprintln!(
        "outbox to consumer: first {latency:?} (includes joining the group), then {steady:?}"
    );
    shutdown.cancel();
    stack.finish().await;
}

#[tokio::test]
async fn the_relay_publishes_each_event_once_with_its_headers_and_key() {
    let stack = Stack::start().await;
    let shutdown = CancellationToken::new();
    let batch = events(5);
    stack.enqueue(&batch).await;

    stack.relay(&shutdown);
    let messages =
        test_stack::read_topic(&stack.kafka, Topic::Order, 6, Duration::from_secs(10)).await;

    assert_eq!(messages.len(), 5, "each event exactly once, nothing else");
    for envelope in &batch {
        let message = messages
            .iter()
            .find(|m| test_stack::header_of(*m, "id") == Some(envelope.id.to_string()))
            .expect("published");
        use rdkafka::Message;
        assert_eq!(message.key(), Some(envelope.key().as_bytes()));
        assert_eq!(
            test_stack::header_of(message, "type").as_deref(),
            Some("OrderCanceled")
        );
        let traceparent = test_stack::header_of(message, "traceparent").expect("traceparent");
        assert!(service_runtime::trace::is_valid(&traceparent));
    }
    shutdown.cancel();
    stack.finish().await;
}

#[tokio::test]
async fn a_consumer_stopped_mid_stream_catches_up_with_none_lost_and_none_doubled() {
    // Arrange: a consumer handles the first half, then stops cleanly.
    let stack = Stack::start().await;
    let relay_shutdown = CancellationToken::new();
    stack.relay(&relay_shutdown);
    let first_half = events(40);
    let second_half = events(40);
    let consumer_shutdown = CancellationToken::new();
    let consumer = stack.consumer("before", &consumer_shutdown);
    stack.enqueue(&first_half).await;
    stack.wait_for_effects(40).await;
    consumer_shutdown.cancel();
    consumer.await.unwrap();

    // Act: events flow while it is down; then it comes back in the same group.
    stack.enqueue(&second_half).await;
    let restart = CancellationToken::new();
    stack.consumer("after", &restart);
    stack.wait_for_effects(80).await;
    tokio::time::sleep(Duration::from_millis(500)).await; // room for any redelivery to show

    // Assert
    let ids: Vec<_> = first_half
        .iter()
        .chain(&second_half)
        .map(|e| e.id)
        .collect();
    assert!(stack.effects_of(&ids).await.iter().all(|&n| n == 1));
    assert_eq!(stack.total_effects().await, 80);
    let handled_after: i64 =
        sqlx::query_scalar("select count(*) from effect where instance = 'after'")
            .fetch_one(stack.pool())
            .await
            .unwrap();
    assert_eq!(
        handled_after, 40,
        "the restarted consumer handled exactly what it missed"
    );
    relay_shutdown.cancel();
    restart.cancel();
    stack.finish().await;
}

#[tokio::test]
async fn two_consumers_in_one_group_split_the_partitions_and_handle_each_event_once() {
    // Arrange: two instances of the same consumer, as two replicas of a service would run.
    let stack = Stack::start().await;
    let shutdown = CancellationToken::new();
    stack.consumer("one", &shutdown);
    stack.consumer("two", &shutdown);
    tokio::time::sleep(Duration::from_secs(3)).await; // let the group settle on two members
    let batch = events(90);

    // Act
    stack.relay(&shutdown);
    stack.enqueue(&batch).await;
    stack.wait_for_effects(90).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Assert
    let ids: Vec<_> = batch.iter().map(|e| e.id).collect();
    assert!(stack.effects_of(&ids).await.iter().all(|&n| n == 1));
    let per_instance: Vec<(String, i64)> =
        sqlx::query_as("select instance, count(*) from effect group by instance order by instance")
            .fetch_all(stack.pool())
            .await
            .unwrap();
    assert_eq!(
        per_instance.len(),
        2,
        "both replicas got partitions: {per_instance:?}"
    );
    assert_eq!(per_instance.iter().map(|(_, n)| n).sum::<i64>(), 90);
    shutdown.cancel();
    stack.finish().await;
}
