//! The gauges ops watch, read as Prometheus scrapes them: a consumer group's lag keeps counting
//! while its consumer is stuck and falls to zero once it catches up; the outbox's backlog, the
//! age of its oldest row and its parked rows follow the table.

use std::time::Duration;

use backbone::backlog::Backlog;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::support::{Stack, events};

/// The value of each series of `metric` whose labels include `label`, from this process's
/// `/metrics` text.
fn series(metric: &str, label: &str) -> Vec<f64> {
    service_runtime::ops::prometheus()
        .render()
        .lines()
        .filter(|line| line.starts_with(&format!("{metric}{{")) && line.contains(label))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse().ok())
        .collect()
}

#[tokio::test]
async fn a_stuck_consumers_lag_counts_its_unread_events_and_falls_to_zero_once_it_catches_up() {
    // Arrange: the consumer's effects wait behind a lock, as behind a stuck database.
    service_runtime::ops::prometheus();
    let stack = Stack::start().await;
    let shutdown = CancellationToken::new();
    let mut lock = stack.pool().begin().await.unwrap();
    sqlx::query("lock table effect in exclusive mode")
        .execute(&mut *lock)
        .await
        .unwrap();
    let group = format!("group=\"{}recorder\"", stack.kafka.topics.prefix());
    stack.consumer("a", &shutdown);

    // Act: five events arrive that it cannot apply yet.
    test_stack::publish_events(&stack.kafka, &events(5)).await;

    // Assert: every partition of each of its topics has a series, and they add up to the five.
    let lag = test_stack::eventually(Duration::from_secs(30), "a lag of 5", || async {
        let lags = series("kafka_consumer_lag", &group);
        (lags.iter().sum::<f64>() == 5.0).then_some(lags)
    })
    .await;
    assert_eq!(
        lag.len() % stack.kafka.partitions as usize,
        0,
        "one series per partition: {lag:?}"
    );

    // Act: the lock goes; the consumer applies the events and commits.
    lock.rollback().await.unwrap();

    // Assert
    stack.wait_for_effects(5).await;
    test_stack::eventually(Duration::from_secs(30), "the lag back to 0", || async {
        let lags = series("kafka_consumer_lag", &group);
        (!lags.is_empty() && lags.iter().all(|lag| *lag == 0.0)).then_some(())
    })
    .await;

    shutdown.cancel();
    stack.finish().await;
}

#[tokio::test]
async fn the_outbox_gauges_count_pending_and_parked_rows_and_age_the_oldest() {
    // Arrange: three events written while no relay runs, and a row the relay gave up on.
    service_runtime::ops::prometheus();
    let stack = Stack::start().await;
    stack.enqueue(&events(3)).await;
    sqlx::query(
        "insert into outbox (event_id, topic, message_key, event_type, payload, attempts, parked_at)
         values ($1, 'fooddelivery.nowhere', 'k', 'OrderCanceled', '{}', 10, now())",
    )
    .bind(Uuid::new_v4())
    .execute(stack.pool())
    .await
    .unwrap();
    let service = format!("outbox-test-{}", Uuid::new_v4().simple());
    let backlog = Backlog::new(stack.pool().clone(), &service);
    let label = format!("service=\"{service}\"");
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Act
    let reading = backlog.refresh().await.unwrap();

    // Assert: the parked row is not pending; the oldest pending row waited the sleep at least.
    assert_eq!((reading.pending, reading.parked), (3, 1));
    assert!(reading.oldest_pending_age >= 0.3, "{reading:?}");
    assert_eq!(series("outbox_pending", &label), [3.0]);
    assert_eq!(series("outbox_parked", &label), [1.0]);
    let age = series("outbox_oldest_pending_age_seconds", &label);
    assert!(age.len() == 1 && age[0] >= 0.3, "{age:?}");

    // Act: the relay publishes them.
    let shutdown = CancellationToken::new();
    stack.relay(&shutdown);
    test_stack::eventually(Duration::from_secs(30), "the three published", || async {
        (backlog.refresh().await.ok()?.pending == 0).then_some(())
    })
    .await;

    // Assert
    assert_eq!(series("outbox_pending", &label), [0.0]);
    assert_eq!(series("outbox_oldest_pending_age_seconds", &label), [0.0]);
    assert_eq!(series("outbox_parked", &label), [1.0]);

    shutdown.cancel();
    stack.finish().await;
}
