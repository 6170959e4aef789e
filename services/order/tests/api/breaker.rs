//! The payment call under trouble: down, slow, breaker open, recovery.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Options, spawn_app_with};
use order_service::payments::BreakerSettings;

#[tokio::test]
async fn payment_down_fails_fast_then_the_breaker_sheds_without_calling_then_orders_recover() {
    // The production policy (50 % of at least 20 calls), open for 2 s to keep the test short,
    // and one try per order so that each order is one of the breaker's calls (retries count
    // too: the policy's unit tests).
    let app = spawn_app_with(Options::one_try()).await;
    let min_calls = BreakerSettings::default().min_calls;
    app.payment_line.cut();

    // While down: 503 with Retry-After, well within the timeout, until the breaker has seen
    // enough calls to open.
    for _ in 0..min_calls {
        let started = Instant::now();
        let response = app.place("alice", &app.order_body(1)).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key("retry-after"));
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "payment_unavailable");
        assert!(started.elapsed() < Duration::from_millis(610));
    }

    // Breaker open: even with the line restored, orders are refused at once (well under the
    // 610 ms timeout; a loaded test machine gets some slack), unseen by payment, unstored.
    app.payment_line.restore();
    let before = app.payment_count().await;
    let started = Instant::now();
    let shed = app.place("alice", &app.order_body(1)).await;
    assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "shed in {:?}",
        started.elapsed()
    );
    assert_eq!(
        app.payment_count().await,
        before,
        "the payment service saw no call"
    );

    // After the open period a probe goes through and orders succeed again.
    let recovered = test_stack::eventually(Duration::from_secs(10), "recovery", || async {
        let response = app.place("alice", &app.order_body(1)).await;
        (response.status() == StatusCode::CREATED).then_some(response)
    })
    .await;
    let order: Value = recovered.json().await.unwrap();
    assert_eq!(order["status"], "Placed");
    // The orders whose payment call failed are kept as PaymentFailed (a late approval is
    // refunded on their cancellation); those the open breaker refused were never stored.
    let orders = app.orders_of("alice").await;
    let failed = orders
        .iter()
        .filter(|o| o["status"] == "PaymentFailed")
        .count();
    assert_eq!(failed, min_calls as usize, "{orders:#?}");
    assert_eq!(orders.len(), min_calls as usize + 1, "{orders:#?}");
    app.finish().await;
}

#[tokio::test]
async fn a_payment_slower_than_the_timeout_is_503_and_its_late_approval_is_refunded() {
    let app = spawn_app_with(Options {
        // One try: a second would find the late approval and be answered.
        breaker: BreakerSettings {
            timeout: Duration::from_millis(300),
            open_for: Duration::from_secs(2),
            max_attempts: 1,
            ..BreakerSettings::default()
        },
        ..Options::default()
    })
    .await;
    app.set_payment_faults(800, 0.0).await;

    let started = Instant::now();
    let response = app.place("alice", &app.order_body(1)).await;

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_millis(700),
        "answered at the timeout"
    );
    let orders = app.orders_of("alice").await;
    assert_eq!(orders[0]["status"], "PaymentFailed");
    let id = orders[0]["id"].as_str().unwrap();
    // The payment service finishes its slow work and approves; the cancellation refunds it.
    app.wait_for_payment_status(id, "Refunded").await;
    app.finish().await;
}
