//! After placing: following the store and the delivery, cancellation and refunds, repair.

use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::Value;
use shared_events::{DeliveryAccidentReported, StoreOrderRejected, Topic};
use test_stack::AsUser;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

fn ids(order: &Value) -> (Uuid, String) {
    (
        order["id"].as_str().unwrap().parse().unwrap(),
        order["id"].as_str().unwrap().to_owned(),
    )
}

async fn cancel(app: &TestApp, id: &str) -> reqwest::Response {
    app.order
        .post(&format!("/orders/{id}/cancel"))
        .as_user("alice", "customer")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_customer_cancel_cancels_the_order_and_refunds_the_payment() {
    let app = spawn_app().await;
    let (_, id) = ids(&app.place_ok(1).await);

    let response = cancel(&app, &id).await;

    assert_eq!(response.status(), StatusCode::OK);
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["status"], "Canceled");
    assert_eq!(order["cancelReason"], "customer");
    app.wait_for_payment_status(&id, "Refunded").await;
    let events = app.order_events(2, Duration::from_secs(5)).await;
    let types: Vec<_> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["OrderPlaced", "OrderCanceled"]);
    app.finish().await;
}

#[tokio::test]
async fn cancel_after_cooking_started_is_a_409() {
    let app = spawn_app().await;
    let (order_id, id) = ids(&app.place_ok(1).await);
    app.publish_accepted_and_cooking(order_id).await;
    app.wait_for_order_status(&id, "Cooking").await;

    let response = cancel(&app, &id).await;

    assert_eq!(response.status(), StatusCode::CONFLICT);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "invalid_transition");
    assert_eq!(app.payment_of(&id).await.unwrap()["status"], "Approved");
    app.finish().await;
}

#[tokio::test]
async fn a_store_rejection_cancels_and_refunds() {
    let app = spawn_app().await;
    let (order_id, id) = ids(&app.place_ok(1).await);

    app.publish(
        Topic::Store,
        StoreOrderRejected {
            order_id,
            store_id: app.store_id,
            customer_id: "alice".into(),
            reason: "sold out".into(),
        },
    )
    .await;

    let order = app.wait_for_order_status(&id, "Canceled").await;
    assert_eq!(order["cancelReason"], "store_rejected");
    app.wait_for_payment_status(&id, "Refunded").await;
    app.finish().await;
}

#[tokio::test]
async fn a_delivery_accident_cancels_and_refunds() {
    let app = spawn_app().await;
    let (order_id, id) = ids(&app.place_ok(1).await);

    app.publish(
        Topic::Delivery,
        DeliveryAccidentReported {
            delivery_id: Uuid::new_v4(),
            order_id,
            customer_id: "alice".into(),
            reason: "scooter crash".into(),
        },
    )
    .await;

    let order = app.wait_for_order_status(&id, "Canceled").await;
    assert_eq!(order["cancelReason"], "delivery_accident");
    app.wait_for_payment_status(&id, "Refunded").await;
    app.finish().await;
}

#[tokio::test]
async fn an_order_left_pending_by_a_crash_is_re_driven_and_placed() {
    // Arrange: an order stored PaymentPending a minute ago, as if the process died mid-call.
    let app = spawn_app().await;
    let order_id = Uuid::now_v7();
    sqlx::query(
        "insert into customer_order (id, customer_id, store_id, items, total_price, delivery_address, status, created_at, updated_at, attempt_until)
         values ($1, 'alice', $2, '[]', 18000, 'Seoul', 'PaymentPending', $3, $3, $3)",
    )
    .bind(order_id)
    .bind(app.store_id)
    .bind(Utc::now() - chrono::Duration::minutes(1))
    .execute(&app.order_db.pool)
    .await
    .unwrap();
    let orders = order_service::use_cases::Orders::new(
        app.order_db.pool.clone(),
        std::sync::Arc::new(
            order_service::payments::HttpPayments::new(&app.payment.address).unwrap(),
        ),
        order_service::use_cases::Attempts::new(Duration::from_millis(610), Duration::from_secs(1)),
    );
    let settings = order_service::repair::RepairSettings {
        interval: Duration::from_secs(60),
        margin: Duration::from_secs(1),
        give_up_after: Duration::from_secs(300),
    };

    // Act
    let settled = order_service::repair::repair_once(&orders, settings)
        .await
        .unwrap();

    // Assert
    assert_eq!(settled, 1);
    let order = app
        .wait_for_order_status(&order_id.to_string(), "Placed")
        .await;
    assert!(order["paymentId"].is_string());
    assert_eq!(
        app.order_events(1, Duration::from_secs(5)).await[0]["type"],
        "OrderPlaced"
    );
    app.finish().await;
}
