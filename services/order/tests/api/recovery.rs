//! After a crash between the payment's answer and its record: the customer's retry and the
//! restarted service settle the order at once, with the payment already made.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use test_stack::AsUser;

use crate::helpers::{Options, TestApp, spawn_app_with};
use order_service::repair::RepairSettings;

/// Attempts frozen after the payment (as if the process died there), with a short lease.
fn crashing() -> Options {
    Options {
        freeze_after_payment: true,
        repair: RepairSettings {
            margin: Duration::from_millis(100),
            ..Options::default().repair
        },
        ..Options::default()
    }
}

fn restarted(repair_every: Duration) -> Options {
    let crashing = crashing();
    Options {
        freeze_after_payment: false,
        repair: RepairSettings {
            interval: repair_every,
            ..crashing.repair
        },
        ..crashing
    }
}

/// Sends the order and never waits for its answer (the service will die holding it).
fn place_in_background(app: &TestApp, key: &str) {
    let request = app
        .order
        .post("/orders")
        .as_user("alice", "customer")
        .header("idempotency-key", key)
        .json(&app.order_body(1));
    tokio::spawn(request.send());
}

async fn wait_for_payments(app: &TestApp, n: i64) {
    test_stack::eventually(Duration::from_secs(30), "the payments", || async {
        (app.payment_count().await == n).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_retry_after_a_crash_between_payment_and_record_is_answered_at_once_with_that_payment() {
    // Arrange: the customer was charged, then the order service died before recording it.
    let mut app = spawn_app_with(crashing()).await;
    place_in_background(&app, "checkout-7");
    wait_for_payments(&app, 1).await;
    let pending = app.orders_of("alice").await;
    assert_eq!(pending[0]["status"], "PaymentPending");
    app.restart_order_killed(&restarted(Duration::from_secs(3600)))
        .await;

    // Act: the client retries with the same key, as soon as the service answers again.
    let retry = app
        .place_keyed("alice", "checkout-7", &app.order_body(1))
        .await;

    // Assert: placed on the first retry (no 409 window), on the payment already made.
    assert_eq!(retry.status(), StatusCode::CREATED);
    let order: Value = retry.json().await.unwrap();
    assert_eq!(order["id"], pending[0]["id"]);
    assert_eq!(order["status"], "Placed");
    let payment = app.payment_of(order["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(order["paymentId"], payment["id"]);
    assert_eq!(app.payment_count().await, 1, "charged once");
    app.finish().await;
}

#[tokio::test]
async fn a_restarted_service_settles_at_once_what_its_predecessor_left_pending() {
    // Arrange: three customers charged, then the service died before recording any of them.
    let mut app = spawn_app_with(crashing()).await;
    for key in ["a", "b", "c"] {
        place_in_background(&app, key);
    }
    wait_for_payments(&app, 3).await;

    // Act: a new process starts (its repair looks every second, from start-up on).
    app.restart_order_killed(&restarted(Duration::from_secs(1)))
        .await;

    // Assert: all three placed within seconds, where the age rule waited 30 s and more.
    let placed = test_stack::eventually(Duration::from_secs(5), "the orders placed", || async {
        let orders = app.orders_of("alice").await;
        (orders.len() == 3 && orders.iter().all(|o| o["status"] == "Placed")).then_some(orders)
    })
    .await;
    for order in placed {
        let payment = app.payment_of(order["id"].as_str().unwrap()).await.unwrap();
        assert_eq!(order["paymentId"], payment["id"]);
    }
    assert_eq!(app.payment_count().await, 3, "charged once each");
    app.finish().await;
}
