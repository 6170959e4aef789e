//! The relay's test-only fault point (`Relay::freeze_after_publish`), which `./dev chaos r4`
//! uses: a relay that dies between publishing a batch and marking it leaves the rows unmarked,
//! the next relay publishes them again, and the consumer applies each event once.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::support::{Stack, events};

#[tokio::test]
async fn a_relay_killed_between_publish_and_mark_is_followed_by_one_effect_per_event() {
    // Arrange: a relay that freezes once its first batch is on Kafka, and a consumer.
    let stack = Stack::start().await;
    let shutdown = CancellationToken::new();
    let batch = events(5);
    let ids: Vec<_> = batch.iter().map(|e| e.id).collect();
    stack.enqueue(&batch).await;
    let frozen = stack.relay_with(|relay| relay.freeze_after_publish = true, &shutdown);
    stack.consumer("a", &shutdown);

    // Act: the batch reaches the consumer, but the frozen relay never marks it; kill it there.
    stack.wait_for_effects(5).await;
    let unmarked: i64 =
        sqlx::query_scalar("select count(*) from outbox where published_at is null")
            .fetch_one(stack.pool())
            .await
            .unwrap();
    frozen.abort();
    let _ = frozen.await;
    stack.relay(&shutdown);
    stack.wait_published().await;
    // The republished batch has been handled once the group has committed all ten messages.
    test_stack::eventually(
        Duration::from_secs(30),
        "the batch handled again",
        || async { stack.committed_everything("recorder").await.then_some(()) },
    )
    .await;

    // Assert
    assert_eq!(unmarked, 5, "published but not marked when the relay died");
    assert_eq!(stack.effects_of(&ids).await, [1, 1, 1, 1, 1]);
    assert_eq!(stack.total_effects().await, 5);
    shutdown.cancel();
    stack.finish().await;
}
