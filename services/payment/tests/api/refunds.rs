use std::time::Duration;

use reqwest::StatusCode;
use uuid::Uuid;

use crate::helpers::spawn_app;

#[tokio::test]
async fn order_canceled_refunds_the_payment_once_even_when_delivered_twice() {
    let app = spawn_app().await;
    let order_id = Uuid::new_v4();
    assert_eq!(
        app.pay(order_id, "alice", 18_000).await.status(),
        StatusCode::CREATED
    );

    let canceled = app.cancel_order(order_id, "alice").await;
    app.wait_for_status(order_id, "alice", "Refunded").await;
    app.redeliver(&canceled).await;
    app.cancel_order(order_id, "alice").await; // a second, distinct cancellation event

    let events = app.payment_events(2, Duration::from_secs(5)).await;
    let types: Vec<_> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["PaymentApproved", "PaymentCanceled"]);
    app.finish().await;
}

#[tokio::test]
async fn a_cancellation_that_overtakes_the_payment_refunds_it_as_soon_as_it_is_made() {
    let app = spawn_app().await;
    let order_id = Uuid::new_v4();
    let other = Uuid::new_v4();
    app.cancel_order(order_id, "alice").await;
    // The refund consumer has seen the cancellation once a later event on another order is handled.
    app.pay(other, "alice", 10).await;
    app.cancel_order(other, "alice").await;
    app.wait_for_status(other, "alice", "Refunded").await;

    let response = app.pay(order_id, "alice", 18_000).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "Refunded");
    app.finish().await;
}

#[tokio::test]
async fn canceling_an_order_that_was_never_charged_does_nothing() {
    let app = spawn_app().await;
    let never_paid = Uuid::new_v4();
    let paid = Uuid::new_v4();
    app.pay(paid, "alice", 10).await;

    app.cancel_order(never_paid, "alice").await;
    app.cancel_order(paid, "alice").await;
    app.wait_for_status(paid, "alice", "Refunded").await;

    let events = app.payment_events(2, Duration::from_secs(3)).await;
    assert_eq!(
        events.len(),
        2,
        "approval and refund of the paid order only"
    );
    assert!(
        app.payments_of(never_paid, "alice", "customer")
            .await
            .is_empty()
    );
    app.finish().await;
}
