//! The services' Kafka users on the local cluster's SCRAM listener, where the production
//! cluster's ACLs (kubernetes/components/strimzi/users.yaml, generated from the topics'
//! declaration) hold: `./dev` creates each user, with the password `local-<user>`, and exactly
//! its ACLs. A service authenticates through the same settings it would use in production.
//! Nothing here writes to the stack's topics: what a user may do is seen in metadata, and what
//! it may not is refused before anything is written.

use std::time::Duration;

use backbone::kafka::{KafkaSettings, Protocol, Sasl, Security};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::FutureRecord;
use service_runtime::settings::ports;
use shared_events::{Topic, Topics};

/// The settings a service would run with as Kafka user `user`, on the stack's own topics.
async fn as_user(user: &str, password: &str) -> KafkaSettings {
    KafkaSettings {
        brokers: format!("127.0.0.1:{}", ports::KAFKA_SASL),
        topics: Topics::new(""),
        security: Security {
            protocol: Protocol::SaslPlaintext,
            sasl: Some(Sasl {
                mechanism: "SCRAM-SHA-512".to_owned(),
                username: user.to_owned(),
                password: password.to_owned(),
            }),
            ca_location: None,
        },
        ..test_stack::kafka(user).await
    }
}

/// The topic's metadata as `settings`' user sees it: `Ok` when it may describe it.
fn describe(settings: &KafkaSettings, topic: &str) -> Result<(), String> {
    let client: BaseConsumer = settings.base_config().create().unwrap();
    let metadata = client
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map_err(|e| e.to_string())?;
    match metadata.topics().first().and_then(|t| t.error()) {
        None => Ok(()),
        Some(error) => Err(format!("{:?}", RDKafkaErrorCode::from(error))),
    }
}

#[tokio::test]
async fn a_service_user_sees_the_topics_it_uses_and_no_other() {
    let payment = as_user("fooddelivery-payment", "local-fooddelivery-payment").await;
    let topics = Topics::new("");
    let describe = |topic| describe(&payment, &topics.name(topic));

    // Payment writes its own topic and reads the order topic…
    assert_eq!(describe(Topic::Payment), Ok(()));
    assert_eq!(describe(Topic::Order), Ok(()));
    // …and has no business with reviews.
    assert_eq!(
        describe(Topic::Review),
        Err("TopicAuthorizationFailed".to_owned())
    );
}

#[tokio::test]
async fn a_service_user_may_not_write_another_services_topic() {
    let payment = as_user("fooddelivery-payment", "local-fooddelivery-payment").await;
    let producer = payment.producer().unwrap();
    let order_topic = Topics::new("").name(Topic::Order);

    let sent = producer
        .send(
            FutureRecord::to(&order_topic)
                .key("access-test")
                .payload("{}"),
            Duration::from_secs(10),
        )
        .await;

    match sent {
        Err((KafkaError::MessageProduction(code), _)) => assert!(
            matches!(
                code,
                RDKafkaErrorCode::TopicAuthorizationFailed
                    | RDKafkaErrorCode::ClusterAuthorizationFailed
            ),
            "{code:?}"
        ),
        other => panic!("payment wrote the order topic: {other:?}"),
    }
}

/// The cluster's metadata as `settings`' user asks for it, giving up after a few seconds.
fn metadata(settings: &KafkaSettings) -> Result<(), KafkaError> {
    let client: BaseConsumer = settings
        .base_config()
        .set("socket.timeout.ms", "3000")
        .create()
        .unwrap();
    client
        .fetch_metadata(None, Duration::from_secs(5))
        .map(|_| ())
}

#[tokio::test]
async fn a_wrong_password_is_refused() {
    let intruder = as_user("fooddelivery-payment", "not-the-password").await;
    // The same user with its password, so that the refusal is the password's, not the listener's.
    let payment = as_user("fooddelivery-payment", "local-fooddelivery-payment").await;

    assert!(
        metadata(&payment).is_ok(),
        "metadata for the right password"
    );
    assert!(
        metadata(&intruder).is_err(),
        "metadata for a wrong password"
    );
}
