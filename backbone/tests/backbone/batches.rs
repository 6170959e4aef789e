//! Batches: a backlog applied in few transactions, and failures inside a batch handled as if
//! the events had come one at a time.

use std::time::Duration;

use rdkafka::Message;
use shared_events::Topic;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::support::{Recorder, Stack, event_for, events, flaky_for, poison_for};

/// Publishes `batch` and waits until it is all on Kafka, so that a consumer started afterwards
/// finds it as a backlog and takes it in batches.
async fn backlog(stack: &Stack, batch: &[shared_events::Envelope], shutdown: &CancellationToken) {
    stack.relay(shutdown);
    stack.enqueue(batch).await;
    stack.wait_published().await;
}

#[tokio::test]
async fn a_backlog_is_applied_in_a_few_transactions() {
    // Arrange
    let stack = Stack::start().await;
    let shutdown = CancellationToken::new();
    let batch = events(60);
    backlog(&stack, &batch, &shutdown).await;

    // Act
    stack.consumer("a", &shutdown);
    stack.wait_for_effects(60).await;

    // Assert
    let ids: Vec<_> = batch.iter().map(|e| e.id).collect();
    assert!(stack.effects_of(&ids).await.iter().all(|&n| n == 1));
    let transactions = stack.events_per_transaction(&ids).await;
    eprintln!("60 events in transactions of {transactions:?}");
    assert!(
        transactions.len() <= 6,
        "batched, not one transaction per event: {transactions:?}"
    );
    shutdown.cancel();
    stack.finish().await;
}

#[tokio::test]
async fn a_batch_never_holds_more_events_than_the_configured_maximum() {
    // Arrange
    let stack = Stack::start().await;
    let shutdown = CancellationToken::new();
    let batch = events(30);
    backlog(&stack, &batch, &shutdown).await;

    // Act
    stack.consumer_tuned(
        Recorder::new("a"),
        |consumer| consumer.batch.max = 7,
        &shutdown,
    );
    stack.wait_for_effects(30).await;

    // Assert
    let ids: Vec<_> = batch.iter().map(|e| e.id).collect();
    let transactions = stack.events_per_transaction(&ids).await;
    assert!(transactions.len() >= 5, "{transactions:?}");
    assert!(transactions.iter().all(|&n| n <= 7), "{transactions:?}");
    assert_eq!(transactions.iter().sum::<i64>(), 30);
    shutdown.cancel();
    stack.finish().await;
}

#[tokio::test]
async fn a_poison_event_in_the_middle_of_a_batch_is_dead_lettered_and_the_events_around_it_apply_once_in_order()
 {
    // Arrange: one order's events (one partition), a poison one in the middle.
    let stack = Stack::start().await;
    let shutdown = CancellationToken::new();
    let order = Uuid::new_v4();
    let before: Vec<_> = (0..10).map(|_| event_for(order)).collect();
    let poisoned = poison_for(order);
    let after: Vec<_> = (0..10).map(|_| event_for(order)).collect();
    let all: Vec<_> = before
        .iter()
        .chain([&poisoned])
        .chain(&after)
        .cloned()
        .collect();
    backlog(&stack, &all, &shutdown).await;

    // Act
    let recorder = Recorder::new("a");
    let calls = recorder.calls.clone();
    let stop_consumer = CancellationToken::new();
    let consumer = stack.consumer_with(recorder, &stop_consumer);
    stack.wait_for_effects(20).await;
    let dead =
        test_stack::read_topic(&stack.kafka, Topic::DeadLetter, 1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // room for any redelivery to show
    stop_consumer.cancel();
    consumer.await.unwrap();

    // Assert: the others applied once each, in the order they were published.
    let expected: Vec<_> = before.iter().chain(&after).map(|e| e.id).collect();
    assert_eq!(stack.effects_in_order().await, expected);
    assert_eq!(dead.len(), 1);
    assert_eq!(
        test_stack::header_of(&dead[0], "id"),
        Some(poisoned.id.to_string())
    );
    let dead_lettered_at = dead[0].timestamp().to_millis().unwrap();
    let after_ids: Vec<_> = after.iter().map(|e| e.id).collect();
    let after_began: i64 = sqlx::query_scalar(
        "select (extract(epoch from min(processed_at)) * 1000)::bigint from inbox where event_id = any($1)",
    )
    .bind(&after_ids)
    .fetch_one(stack.pool())
    .await
    .unwrap();
    assert!(
        after_began >= dead_lettered_at,
        "nothing behind the poison event was applied before it was dead-lettered"
    );
    let inboxed: i64 = sqlx::query_scalar("select count(*) from inbox where event_id = $1")
        .bind(poisoned.id)
        .fetch_one(stack.pool())
        .await
        .unwrap();
    assert_eq!(inboxed, 0, "the poison event left nothing behind");
    let poison_attempts = calls
        .lock()
        .unwrap()
        .iter()
        .filter(|&&id| id == poisoned.id)
        .count();
    assert_eq!(poison_attempts, 3, "the retry policy's attempts, no more");
    assert!(
        stack.committed_everything("recorder").await,
        "every offset committed, the poison event's too"
    );
    eprintln!(
        "around the poison event: transactions of {:?}",
        stack.events_per_transaction(&expected).await
    );
    shutdown.cancel();
    stack.finish().await;
}

#[tokio::test]
async fn a_transient_failure_mid_batch_rolls_the_batch_back_and_reapplies_it_without_duplicate_effects()
 {
    // Arrange: one order's events; the handler fails on the sixth as if the database were down.
    let stack = Stack::start().await;
    let shutdown = CancellationToken::new();
    let order = Uuid::new_v4();
    let mut all: Vec<_> = (0..10).map(|_| event_for(order)).collect();
    let flaky = flaky_for(order);
    all.insert(5, flaky.clone());
    backlog(&stack, &all, &shutdown).await;

    // Act
    let recorder = Recorder::new("a");
    let calls = recorder.calls.clone();
    let stop_consumer = CancellationToken::new();
    let consumer = stack.consumer_with(recorder, &stop_consumer);
    stack.wait_for_effects(11).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop_consumer.cancel();
    consumer.await.unwrap();

    // Assert: all applied once, in order; the events before the failure were handled twice
    // (rolled back with it, then applied again).
    let expected: Vec<_> = all.iter().map(|e| e.id).collect();
    assert_eq!(stack.effects_in_order().await, expected);
    let calls = calls.lock().unwrap().clone();
    let handled = |id: Uuid| calls.iter().filter(|&&c| c == id).count();
    assert_eq!(handled(flaky.id), 2);
    assert!(
        all[..5].iter().all(|e| handled(e.id) == 2),
        "the batch was rolled back and re-applied: {calls:?}"
    );
    let inbox_rows: i64 = sqlx::query_scalar("select count(*) from inbox")
        .fetch_one(stack.pool())
        .await
        .unwrap();
    assert_eq!(inbox_rows, 11);
    let dead =
        test_stack::read_topic(&stack.kafka, Topic::DeadLetter, 1, Duration::from_secs(2)).await;
    assert!(
        dead.is_empty(),
        "a transient failure is never dead-lettered"
    );
    assert!(stack.committed_everything("recorder").await);
    shutdown.cancel();
    stack.finish().await;
}
