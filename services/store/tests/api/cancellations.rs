use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{OWNER, order_canceled, order_placed, spawn_app, types};

#[tokio::test]
async fn order_canceled_while_cooking_cancels_and_later_owner_actions_are_409() {
    let app = spawn_app().await;
    let store_id = app.a_store().await;
    let placed = order_placed(store_id);
    let id = placed.event.order_id().unwrap();
    app.publish(&placed).await;
    app.wait_for_order(store_id, id, "Received").await;
    app.act(id, "accept", OWNER, "owner").await;
    app.act(id, "start-cooking", OWNER, "owner").await;

    let canceled = order_canceled(id, store_id);
    app.publish(&canceled).await;
    let order = app.wait_for_order(store_id, id, "Canceled").await;
    app.publish(&canceled).await;
    let finish = app.act(id, "finish-cooking", OWNER, "owner").await;

    assert_eq!(order["cancelReason"], "customer");
    assert_eq!(finish.status(), StatusCode::CONFLICT);
    let problem: Value = finish.json().await.unwrap();
    assert_eq!(problem["code"], "invalid_transition");
    let events = app.store_events(2, Duration::from_secs(3)).await;
    assert_eq!(types(&events), ["StoreOrderAccepted", "CookingStarted"]);
    app.finish().await;
}

#[tokio::test]
async fn order_canceled_before_order_placed_leaves_nothing_to_cook() {
    let app = spawn_app().await;
    let store_id = app.a_store().await;
    let placed = order_placed(store_id);
    let id = placed.event.order_id().unwrap();

    // Same key, same partition: the cancellation is handled first.
    app.publish(&order_canceled(id, store_id)).await;
    app.publish(&placed).await;
    app.wait_for_handled(2).await;

    let orders = app.store_orders(store_id).await;
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["status"], "Canceled");
    let accept = app.act(id, "accept", OWNER, "owner").await;
    assert_eq!(accept.status(), StatusCode::CONFLICT);
    app.finish().await;
}
