//! Changing an order while its top-up is being paid: a change that loses its order meanwhile
//! (canceled while payment answered), or gets no answer, is given up with
//! OrderChangeAbandoned, and the payment service ends with no top-up kept.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_stack::AsUser;

use crate::helpers::{Options, TestApp, spawn_app, spawn_app_with};

async fn change(
    app: &TestApp,
    order_id: &str,
    if_match: &str,
    quantity: i64,
) -> (StatusCode, Value) {
    let response = app
        .order
        .client
        .patch(app.order.url(&format!("/orders/{order_id}")))
        .as_user("alice", "customer")
        .header("if-match", if_match)
        .json(&json!({ "items": [{ "menuItemId": app.chicken, "quantity": quantity }] }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The statuses of the order's adjustments at the payment service, once none is Approved and
/// `expected` of them exist.
async fn settled_adjustments(app: &TestApp, order_id: &str, expected: usize) -> Vec<String> {
    let order_id: uuid::Uuid = order_id.parse().unwrap();
    test_stack::eventually(Duration::from_secs(20), "the top-up settled", || async {
        let statuses: Vec<String> =
            sqlx::query_scalar("select status from adjustment where order_id = $1")
                .bind(order_id)
                .fetch_all(&app.payment_db.pool)
                .await
                .ok()?;
        (statuses.len() == expected && !statuses.iter().any(|s| s == "Approved"))
            .then_some(statuses)
    })
    .await
}

async fn order_event_types(app: &TestApp, order_id: &str, expected: usize) -> Vec<String> {
    app.order_events(expected, Duration::from_secs(10))
        .await
        .iter()
        .filter(|e| e["orderId"] == order_id)
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_change_whose_order_is_canceled_while_its_top_up_is_paid_is_given_up_and_refunded() {
    // Arrange: payment answers in 300 ms (inside the order service's 610 ms timeout).
    let app = spawn_app().await;
    let order = app.place_ok(1).await;
    let id = order["id"].as_str().unwrap().to_owned();
    app.set_payment_faults(300, 0.0).await;

    // Act: the customer makes it dearer and, while the top-up is paid, cancels it.
    let (changed, canceled) = tokio::join!(change(&app, &id, "1", 2), async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        app.order
            .post(&format!("/orders/{id}/cancel"))
            .as_user("alice", "customer")
            .send()
            .await
            .unwrap()
            .status()
    });

    // Assert: the cancel won and the change is 409, whether payment approved the top-up before
    // it heard of the cancel (the change is then given up, and the top-up refunded) or declined
    // it after; nothing is kept.
    assert_eq!(canceled, StatusCode::OK);
    assert_eq!(changed.0, StatusCode::CONFLICT, "{}", changed.1);
    assert_eq!(changed.1["code"], "invalid_transition");
    let order = app.wait_for_order_status(&id, "Canceled").await;
    assert_eq!(
        (order["version"].clone(), order["totalPrice"].clone()),
        (json!(1), json!(18_000))
    );
    let statuses = settled_adjustments(&app, &id, 1).await;
    let types = order_event_types(&app, &id, 2).await;
    assert!(!types.contains(&"OrderChanged".to_owned()), "{types:?}");
    match statuses[0].as_str() {
        "Refunded" => assert!(
            types.contains(&"OrderChangeAbandoned".to_owned()),
            "{types:?}"
        ),
        other => assert_eq!(other, "Declined"),
    }
    app.wait_for_payment_status(&id, "Refunded").await;
    app.finish().await;
}

#[tokio::test]
async fn a_change_whose_top_up_gets_no_answer_changes_nothing_and_keeps_no_money() {
    // Arrange: payment answers in 1.5 s, after the order service's 610 ms timeout, and the
    // order service asks once (a second try would find the top-up made and be answered).
    let app = spawn_app_with(Options::one_try()).await;
    let order = app.place_ok(1).await;
    let id = order["id"].as_str().unwrap().to_owned();
    app.set_payment_faults(1_500, 0.0).await;

    // Act
    let (status, body) = change(&app, &id, "1", 3).await;

    // Assert: 503, the order as it was, the change given up; the top-up that payment made
    // after the order stopped waiting is given back (or refused, had the abandonment come
    // first).
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "payment_unavailable");
    let order: Value = app.get_order("alice", &id).await.json().await.unwrap();
    assert_eq!(
        (order["version"].clone(), order["totalPrice"].clone()),
        (json!(1), json!(18_000))
    );
    let types = order_event_types(&app, &id, 2).await;
    assert_eq!(types, ["OrderPlaced", "OrderChangeAbandoned"]);
    let statuses = settled_adjustments(&app, &id, 1).await;
    assert!(
        statuses == ["Refunded"] || statuses == ["Voided"],
        "{statuses:?}"
    );
    // The order's own payment is untouched, and the next change, from the same version, works.
    app.set_payment_faults(0, 0.0).await;
    assert_eq!(app.payment_of(&id).await.unwrap()["status"], "Approved");
    let (status, body) = change(&app, &id, "1", 2).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 2);
    app.finish().await;
}

#[tokio::test]
async fn a_change_the_document_refuses_is_422_whatever_the_order_state() {
    let app = spawn_app_with(Options {
        decline_above: 50_000,
        ..Options::default()
    })
    .await;
    let declined = app.place("alice", &app.order_body(3)).await; // 54,000 won
    assert_eq!(declined.status(), StatusCode::PAYMENT_REQUIRED);
    let order_id = app.orders_of("alice").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, problem) = change(&app, &order_id, "\"1\"", 0).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["code"], "invalid_quantity");
    let (status, problem) = change(&app, &order_id, "\"1\"", 1).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["code"], "invalid_transition");
    app.finish().await;
}
