//! `StoreRegistered`: how consumers learn who owns a store, once per store, including the stores
//! opened before the event existed.

use std::borrow::Cow;
use std::time::Duration;

use rdkafka::Message;
use reqwest::StatusCode;
use serde_json::json;
use shared_events::{Decoded, Envelope, Event, StoreRegistered, Topic};
use sqlx::migrate::Migrator;
use test_stack::{AsUser, TestDatabase};
use uuid::Uuid;

use crate::helpers::{OWNER, spawn_app, start_instance};

/// The store's migrations, to bring a database to a version before the event existed.
static MIGRATIONS: Migrator = sqlx::migrate!();
/// The migration that announces the stores opened before it.
const ANNOUNCING: i64 = 20261215000001;

#[tokio::test]
async fn opening_a_store_announces_it_and_its_owner_once_and_a_refused_one_announces_nothing() {
    let app = spawn_app().await;

    let store = app.open_store(OWNER, "Chicken House").await;
    let open = |name: &str| {
        app.app
            .post("/stores")
            .as_user(OWNER, "owner")
            .json(&json!({ "name": name }))
            .send()
    };
    let duplicate = open("Chicken House").await.unwrap();
    let blank = open("  ").await.unwrap();

    assert_eq!(duplicate.status(), StatusCode::CONFLICT);
    assert_eq!(blank.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let messages =
        test_stack::read_topic(&app.kafka, Topic::Store, 2, Duration::from_secs(3)).await;
    assert_eq!(messages.len(), 1, "one event, for the store opened");
    let store_id: Uuid = store["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(messages[0].key(), Some(store_id.to_string().as_bytes()));
    assert_eq!(
        registered(messages[0].payload().unwrap()),
        StoreRegistered {
            store_id,
            owner_id: OWNER.into(),
            name: "Chicken House".into(),
        }
    );
    app.finish().await;
}

#[tokio::test]
async fn a_store_opened_before_the_event_existed_is_announced_once_by_the_upgrade() {
    let db = TestDatabase::create().await;
    let mut before = backbone::schema::with_messaging(&MIGRATIONS);
    let older: Vec<_> = before
        .iter()
        .filter(|m| m.version < ANNOUNCING)
        .cloned()
        .collect();
    before.migrations = Cow::Owned(older);
    before.run(&db.pool).await.unwrap();
    let old_store = Uuid::now_v7();
    sqlx::query("insert into store (id, name, owner_id) values ($1, 'Old House', 'oscar')")
        .bind(old_store)
        .execute(&db.pool)
        .await
        .unwrap();
    let kafka = test_stack::kafka("store").await;

    let first = start_instance(&db, &kafka).await;
    let announced = test_stack::eventually(Duration::from_secs(10), "the old store", || async {
        let messages =
            test_stack::read_topic(&kafka, Topic::Store, 1, Duration::from_secs(1)).await;
        (!messages.is_empty()).then_some(messages)
    })
    .await;
    first.stop().await;
    let restarted = start_instance(&db, &kafka).await;
    let opened = restarted
        .post("/stores")
        .as_user(OWNER, "owner")
        .json(&json!({ "name": "New House" }))
        .send()
        .await
        .unwrap();

    assert_eq!(announced[0].key(), Some(old_store.to_string().as_bytes()));
    assert_eq!(
        registered(announced[0].payload().unwrap()),
        StoreRegistered {
            store_id: old_store,
            owner_id: "oscar".into(),
            name: "Old House".into(),
        }
    );
    assert_eq!(opened.status(), StatusCode::CREATED);
    let new_store: serde_json::Value = opened.json().await.unwrap();
    let all = test_stack::read_topic(&kafka, Topic::Store, 3, Duration::from_secs(3)).await;
    let mut stores: Vec<String> = all
        .iter()
        .map(|m| registered(m.payload().unwrap()).store_id.to_string())
        .collect();
    stores.sort();
    let mut expected = [
        old_store.to_string(),
        new_store["id"].as_str().unwrap().to_owned(),
    ];
    expected.sort();
    assert_eq!(
        stores, expected,
        "the old store once, even after a restart, and the new one"
    );
    restarted.stop().await;
    db.drop().await;
}

/// The `StoreRegistered` in a message, read as every consumer reads it.
fn registered(payload: &[u8]) -> StoreRegistered {
    match Envelope::decode(payload).unwrap() {
        Decoded::Event(envelope) => match envelope.event {
            Event::StoreRegistered(e) => {
                assert_eq!(envelope.source, "store");
                e
            }
            other => panic!("not a StoreRegistered: {other:?}"),
        },
        Decoded::Unknown { event_type, .. } => panic!("unknown type {event_type}"),
    }
}
