use reqwest::StatusCode;
use serde_json::Value;
use test_stack::journey::Order;

use crate::helpers::{CUSTOMER, OWNER, spawn_app, store_registered};

#[tokio::test]
async fn a_delivery_read_before_its_order_still_lets_the_customer_review() {
    let app = spawn_app().await;
    let order = Order::new(CUSTOMER);

    app.publish(&[order.delivered()]).await;
    app.wait_for_handled(1).await;
    let (status, _) = crate::helpers::problem(app.review(&order, 5).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the order is not known yet");
    app.publish(&[order.placed()]).await;
    app.wait_for_handled(2).await;

    assert_eq!(app.review(&order, 5).await.status(), StatusCode::CREATED);
    app.finish().await;
}

#[tokio::test]
async fn an_event_delivered_twice_is_recorded_once() {
    let app = spawn_app().await;
    let order = Order::new(CUSTOMER);
    let (registered, placed, delivered) =
        (store_registered(&order), order.placed(), order.delivered());

    app.publish(&[registered.clone(), placed.clone(), delivered.clone()])
        .await;
    app.publish(&[registered, placed, delivered]).await;
    app.wait_for_handled(3).await;

    let review: Value = app.review(&order, 5).await.json().await.unwrap();
    let path = format!("/reviews/{}/reply", review["id"].as_str().unwrap());
    let reply = serde_json::json!({ "text": "Thanks" });
    assert_eq!(
        app.put(&path, reply, OWNER, "owner").await.status(),
        StatusCode::OK
    );
    assert_eq!(app.handled().await, 3);
    app.finish().await;
}
