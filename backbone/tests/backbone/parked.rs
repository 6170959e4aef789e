//! What operators do with parked outbox rows, through a service's admin routes as the gateway
//! forwards them: list, retry (published by the service's relay), drop; the gauge follows.

use std::time::Duration;

use backbone::Wiring;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::migrate::Migrator;
use test_stack::{AsUser, RunningApp};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::support::{Stack, event};

static NO_MIGRATIONS: Migrator = Migrator::DEFAULT;

/// A row the relay gave up on, for `topic`.
async fn park(stack: &Stack, event_id: Uuid, topic: &str, payload: &Value) {
    sqlx::query(
        "insert into outbox (event_id, topic, message_key, event_type, payload, attempts, parked_at)
         values ($1, $2, 'k', 'OrderCanceled', $3, 10, now())",
    )
    .bind(event_id)
    .bind(topic)
    .bind(payload)
    .execute(stack.pool())
    .await
    .unwrap();
}

/// The gauge of the one service this binary launches (other tests set series of their own).
async fn parked_gauge(app: &RunningApp, stack: &Stack) -> Option<String> {
    let text = app.get("/metrics").send().await.ok()?.text().await.ok()?;
    let series = format!("outbox_parked{{service=\"{}\"}} ", stack.kafka.client_id);
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .map(str::to_owned)
}

#[tokio::test]
async fn admins_list_retry_and_drop_parked_rows_and_the_gauge_counts_them() {
    // Arrange: a service on the stack's database with two parked rows: one whose topic exists
    // (the broker refused it then; the cause is fixed), one for a topic that never will.
    let stack = Stack::start().await;
    let shutdown = CancellationToken::new();
    stack.consumer("a", &shutdown);
    let fixed = event();
    park(&stack, fixed.id, "fooddelivery.order", &fixed.to_json()).await;
    let hopeless = Uuid::new_v4();
    park(&stack, hopeless, "fooddelivery.nowhere", &json!({})).await;
    let app = RunningApp::start(
        backbone::launch(
            test_stack::service_settings(&stack.db, &stack.kafka),
            &NO_MIGRATIONS,
            |_| {
                Ok(Wiring {
                    routes: axum::Router::new(),
                    consumers: Vec::new(),
                })
            },
        )
        .await
        .unwrap(),
    )
    .await;

    // Act + Assert: only admins.
    for role in ["customer", "owner", "rider"] {
        let listed = app.get("/admin/outbox").as_user("mallory", role).send();
        assert_eq!(
            listed.await.unwrap().status(),
            StatusCode::FORBIDDEN,
            "{role}"
        );
        let dropped = app
            .post("/admin/outbox/drop")
            .as_user("mallory", role)
            .json(&json!({ "all": true }))
            .send();
        assert_eq!(
            dropped.await.unwrap().status(),
            StatusCode::FORBIDDEN,
            "{role}"
        );
    }
    let unauthenticated = app.get("/admin/outbox").send().await.unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);

    let listed: Vec<Value> = app
        .get("/admin/outbox")
        .as_user("ada", "admin")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = listed
        .iter()
        .map(|r| r["eventId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [fixed.id.to_string(), hopeless.to_string()]);
    assert_eq!(listed[0]["attempts"], 10);
    assert_eq!(listed[0]["payload"]["id"], fixed.id.to_string());
    test_stack::eventually(Duration::from_secs(20), "the gauge at 2", || async {
        (parked_gauge(&app, &stack).await? == "2").then_some(())
    })
    .await;

    // A selection names its rows.
    let nothing = app
        .post("/admin/outbox/retry")
        .as_user("ada", "admin")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(nothing.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Retried: the service's relay publishes it, the consumer applies it.
    let retried: Value = app
        .post("/admin/outbox/retry")
        .as_user("ada", "admin")
        .json(&json!({ "eventIds": [fixed.id] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(retried["eventIds"], json!([fixed.id]));
    stack.wait_for_effects(1).await;
    assert_eq!(stack.effects_of(&[fixed.id]).await, [1]);

    // Dropped: gone, never published.
    let dropped: Value = app
        .post("/admin/outbox/drop")
        .as_user("ada", "admin")
        .json(&json!({ "all": true }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(dropped["eventIds"], json!([hopeless]));
    let left: i64 = sqlx::query_scalar("select count(*) from outbox where event_id = $1")
        .bind(hopeless)
        .fetch_one(stack.pool())
        .await
        .unwrap();
    assert_eq!(left, 0);
    let listed: Vec<Value> = app
        .get("/admin/outbox")
        .as_user("ada", "admin")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed.is_empty(), "{listed:?}");
    assert_eq!(parked_gauge(&app, &stack).await.as_deref(), Some("0"));

    app.stop().await;
    shutdown.cancel();
    stack.finish().await;
}
