//! Static group membership: a process that comes back under the same name takes its partitions
//! back at once, instead of waiting for the old member's session to time out.

use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::consumer::{CommitMode, Consumer};
use shared_events::Topic;

/// The next message's payload; its offset is committed, as the consumers do once it is handled.
async fn next_message(consumer: &backbone::kafka::GroupConsumer) -> Vec<u8> {
    let message = tokio::time::timeout(Duration::from_secs(60), consumer.recv())
        .await
        .expect("no message within a minute")
        .unwrap();
    consumer.store_offset_from_message(&message).unwrap();
    consumer.commit_consumer_state(CommitMode::Sync).unwrap();
    message.payload().unwrap().to_vec()
}

#[tokio::test]
async fn a_static_member_that_comes_back_gets_its_partitions_before_its_session_would_end() {
    // Arrange: a consumer named "delivery-1" holds the group's partitions, then its process
    // stops without leaving the group (as a killed one does: it never says goodbye).
    let mut kafka = test_stack::kafka("membership").await;
    kafka.group_instance = Some("delivery-1".into());
    kafka.session_timeout = Duration::from_secs(30);
    let topic = kafka.topics.name(Topic::Order);
    let first = kafka.group_member("membership").unwrap();
    first.subscribe(&[&topic]).unwrap();
    test_stack::send_raw(&kafka, Topic::Order, "k", b"one").await;
    assert_eq!(next_message(&first).await, b"one");
    std::mem::forget(first);

    // Act: the process comes back under the same name.
    let started = Instant::now();
    let second = kafka.group_member("membership").unwrap();
    second.subscribe(&[&topic]).unwrap();
    test_stack::send_raw(&kafka, Topic::Order, "k", b"two").await;
    let received = next_message(&second).await;

    // Assert: long before the old member's 30 s session could have ended.
    assert_eq!(received, b"two");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "partitions back after {:?}",
        started.elapsed()
    );
}
