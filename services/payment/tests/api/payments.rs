use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_stack::AsUser;
use uuid::Uuid;

use crate::helpers::spawn_app;

#[tokio::test]
async fn an_approved_payment_is_201_and_publishes_payment_approved_once() {
    let app = spawn_app().await;
    let order_id = Uuid::new_v4();

    let response = app.pay(order_id, "alice", 36_000).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let payment: Value = response.json().await.unwrap();
    assert_eq!(payment["status"], "Approved");
    assert_eq!(payment["orderId"], order_id.to_string());
    let events = app.payment_events(1, Duration::from_secs(5)).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "PaymentApproved");
    assert_eq!(events[0]["data"]["paymentId"], payment["id"]);
    assert_eq!(events[0]["orderId"], order_id.to_string());
    app.finish().await;
}

#[tokio::test]
async fn an_amount_above_the_limit_is_declined_with_402_and_publishes_nothing() {
    let app = spawn_app().await;

    let response = app.pay(Uuid::new_v4(), "alice", 1_000_001).await;

    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "payment_declined");
    assert!(
        app.payment_events(0, Duration::from_secs(2))
            .await
            .is_empty()
    );
    app.finish().await;
}

#[tokio::test]
async fn concurrent_repeats_for_one_order_make_one_payment() {
    let app = spawn_app().await;
    let order_id = Uuid::new_v4();

    let responses =
        futures::future::join_all((0..10).map(|_| app.pay(order_id, "alice", 18_000))).await;

    let mut ids = Vec::new();
    let mut created = 0;
    for response in responses {
        if response.status() == StatusCode::CREATED {
            created += 1;
        } else {
            assert_eq!(response.status(), StatusCode::OK);
        }
        let body: Value = response.json().await.unwrap();
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(created, 1);
    ids.dedup();
    assert_eq!(ids.len(), 1, "every repeat returns the same payment");
    assert_eq!(app.payment_events(1, Duration::from_secs(5)).await.len(), 1);
    app.finish().await;
}

#[tokio::test]
async fn a_repeat_with_another_amount_is_a_409() {
    let app = spawn_app().await;
    let order_id = Uuid::new_v4();
    app.pay(order_id, "alice", 18_000).await;

    let response = app.pay(order_id, "alice", 99_000).await;

    assert_eq!(response.status(), StatusCode::CONFLICT);
    app.finish().await;
}

#[tokio::test]
async fn bad_input_is_a_problem() {
    let app = spawn_app().await;

    let malformed = app
        .app
        .post("/payments")
        .as_user("alice", "customer")
        .header("content-type", "application/json")
        .body("{\"orderId\":")
        .send()
        .await
        .unwrap();
    let negative = app.pay(Uuid::new_v4(), "alice", -1).await;
    let for_someone_else = app
        .app
        .post("/payments")
        .as_user("mallory", "customer")
        .json(&json!({ "orderId": Uuid::new_v4(), "customerId": "alice", "amount": 10 }))
        .send()
        .await
        .unwrap();
    let anonymous = app
        .app
        .post("/payments")
        .json(&json!({ "orderId": Uuid::new_v4(), "customerId": "alice", "amount": 10 }))
        .send()
        .await
        .unwrap();

    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(negative.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(for_someone_else.status(), StatusCode::FORBIDDEN);
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    app.finish().await;
}

#[tokio::test]
async fn only_the_customer_or_an_admin_sees_a_payment() {
    let app = spawn_app().await;
    let order_id = Uuid::new_v4();
    app.pay(order_id, "alice", 18_000).await;

    assert_eq!(
        app.payments_of(order_id, "alice", "customer").await.len(),
        1
    );
    assert_eq!(app.payments_of(order_id, "root", "admin").await.len(), 1);
    assert!(
        app.payments_of(order_id, "bob", "customer")
            .await
            .is_empty()
    );
    app.finish().await;
}

#[tokio::test]
async fn an_orders_payment_lists_the_adjustments_of_its_changes() {
    let app = spawn_app().await;
    let (order_id, unchanged) = (Uuid::new_v4(), Uuid::new_v4());
    app.pay(order_id, "alice", 18_000).await;
    app.pay(unchanged, "alice", 9_000).await;
    let change_id = Uuid::new_v4();
    let top_up = app
        .app
        .post("/payments")
        .as_user("alice", "customer")
        .json(&json!({
            "orderId": order_id, "customerId": "alice", "amount": 4_000, "changeId": change_id,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(top_up.status(), StatusCode::CREATED);

    let payments = app.payments_of(order_id, "alice", "customer").await;

    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["amount"], 18_000);
    assert_eq!(payments[0]["status"], "Approved");
    let adjustments = payments[0]["adjustments"].as_array().expect("adjustments");
    assert_eq!(adjustments.len(), 1, "{adjustments:?}");
    assert_eq!(adjustments[0]["changeId"], change_id.to_string());
    assert_eq!(adjustments[0]["amount"], 4_000);
    assert_eq!(adjustments[0]["status"], "Approved");
    assert_eq!(adjustments[0]["confirmed"], false, "no OrderChanged yet");
    let admin_sees = app.payments_of(order_id, "root", "admin").await;
    assert_eq!(admin_sees[0]["adjustments"], payments[0]["adjustments"]);
    let plain = app.payments_of(unchanged, "alice", "customer").await;
    assert!(plain[0].get("adjustments").is_none(), "{plain:?}");
    app.finish().await;
}

#[tokio::test]
async fn faults_are_set_by_admins_only_and_then_applied() {
    let app = spawn_app().await;
    let faults = json!({ "delay": { "minMs": 0, "maxMs": 0 }, "failureRate": 1.0 });

    let by_customer = app.set_faults(&faults, "customer").await;
    let by_admin = app.set_faults(&faults, "admin").await;
    let payment = app.pay(Uuid::new_v4(), "alice", 10).await;

    assert_eq!(by_customer.status(), StatusCode::FORBIDDEN);
    assert_eq!(by_admin.status(), StatusCode::OK);
    assert_eq!(payment.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(payment.headers().contains_key("retry-after"));
    app.finish().await;
}

#[tokio::test]
async fn an_injected_delay_is_a_new_charges_answer_time_and_a_repeat_is_answered_at_once() {
    // Arrange: payment answers new charges 700 ms after they arrive.
    let app = spawn_app().await;
    let faults = json!({ "delay": { "minMs": 700, "maxMs": 700 }, "failureRate": 0.0 });
    let set = app.set_faults(&faults, "admin").await;
    assert_eq!(set.status(), StatusCode::OK);
    let order_id = Uuid::new_v4();

    // Act: a caller that gives up after 300 ms, then asks again.
    let started = std::time::Instant::now();
    let given_up =
        tokio::time::timeout(Duration::from_millis(300), app.pay(order_id, "alice", 10)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let asked_again = std::time::Instant::now();
    let repeat = app.pay(order_id, "alice", 10).await;
    let repeat_took = asked_again.elapsed();
    let fresh = app.pay(Uuid::new_v4(), "alice", 10).await;

    // Assert: the charge was made while its answer was held back, so the repeat found it and
    // was answered without the delay; a new charge waits its whole delay.
    assert!(given_up.is_err(), "the first answer came within 300 ms");
    assert_eq!(repeat.status(), StatusCode::OK, "a repeat answers 200");
    assert!(
        repeat_took < Duration::from_millis(300),
        "the repeat took {repeat_took:?}"
    );
    assert_eq!(fresh.status(), StatusCode::CREATED);
    assert!(started.elapsed() >= Duration::from_millis(400 + 700));
    let events = app.payment_events(2, Duration::from_secs(5)).await;
    assert_eq!(events.len(), 2, "one approval per order: {events:?}");
    app.finish().await;
}
