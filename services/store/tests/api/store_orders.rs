use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use shared_events::Event;
use test_stack::AsUser;
use uuid::Uuid;

use crate::helpers::{OWNER, order_placed, spawn_app, types};

fn order_id(envelope: &shared_events::Envelope) -> Uuid {
    envelope.event.order_id().unwrap()
}

#[tokio::test]
async fn order_placed_creates_a_received_store_order_for_its_store() {
    let app = spawn_app().await;
    let store_id = app.a_store().await;
    let placed = order_placed(store_id);

    app.publish(&placed).await;

    let order = app
        .wait_for_order(store_id, order_id(&placed), "Received")
        .await;
    let Event::OrderPlaced(event) = &placed.event else {
        unreachable!()
    };
    assert_eq!(order["storeId"], store_id.to_string());
    assert_eq!(order["customerId"], "alice");
    assert_eq!(order["totalPrice"], 36_000);
    assert_eq!(order["deliveryAddress"], event.delivery_address);
    assert_eq!(order["items"][0]["unitPrice"], 18_000);
    assert_eq!(
        order["items"][0]["menuItemId"],
        event.items[0].menu_item_id.to_string()
    );
    assert!(order.get("cancelReason").is_none());
    app.finish().await;
}

#[tokio::test]
async fn the_owner_accepts_and_cooks_and_each_step_is_published_once() {
    let app = spawn_app().await;
    let store_id = app.a_store().await;
    let placed = order_placed(store_id);
    let id = order_id(&placed);
    app.publish(&placed).await;
    app.wait_for_order(store_id, id, "Received").await;

    let mut statuses = Vec::new();
    for action in ["accept", "start-cooking", "finish-cooking"] {
        let response = app.act(id, action, OWNER, "owner").await;
        assert_eq!(response.status(), StatusCode::OK, "{action}");
        let body: Value = response.json().await.unwrap();
        statuses.push(body["status"].as_str().unwrap().to_owned());
    }

    assert_eq!(statuses, ["Accepted", "Cooking", "Cooked"]);
    let events = app.store_events(3, Duration::from_secs(8)).await;
    assert_eq!(
        types(&events),
        ["StoreOrderAccepted", "CookingStarted", "CookingFinished"]
    );
    for event in &events {
        assert_eq!(event["orderId"], id.to_string());
        assert_eq!(event["data"]["customerId"], "alice");
    }
    assert_eq!(events[2]["data"]["deliveryAddress"], "Seoul, Jongno-gu 1");
    app.finish().await;
}

#[tokio::test]
async fn a_transition_not_allowed_now_is_a_409_invalid_transition() {
    let app = spawn_app().await;
    let store_id = app.a_store().await;
    let placed = order_placed(store_id);
    let id = order_id(&placed);
    app.publish(&placed).await;
    app.wait_for_order(store_id, id, "Received").await;

    let cook_first = app.act(id, "start-cooking", OWNER, "owner").await;
    let finish_first = app.act(id, "finish-cooking", OWNER, "owner").await;
    app.act(id, "accept", OWNER, "owner").await;
    let accept_twice = app.act(id, "accept", OWNER, "owner").await;
    let reject_after_accept = app.act(id, "reject", OWNER, "owner").await;

    for response in [cook_first, finish_first, accept_twice, reject_after_accept] {
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "invalid_transition");
    }
    let events = app.store_events(1, Duration::from_secs(3)).await;
    assert_eq!(types(&events), ["StoreOrderAccepted"]);
    app.finish().await;
}

#[tokio::test]
async fn a_rejection_needs_a_reason_and_publishes_it() {
    let app = spawn_app().await;
    let store_id = app.a_store().await;
    let placed = order_placed(store_id);
    let id = order_id(&placed);
    app.publish(&placed).await;
    app.wait_for_order(store_id, id, "Received").await;
    let reject = |body: Value| {
        app.app
            .post(&format!("/store-orders/{id}/reject"))
            .as_user(OWNER, "owner")
            .json(&body)
            .send()
    };

    let blank = reject(json!({ "reason": "  " })).await.unwrap();
    let missing = reject(json!({})).await.unwrap();
    let rejected = reject(json!({ "reason": "sold out" })).await.unwrap();

    assert_eq!(blank.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    assert_eq!(rejected.status(), StatusCode::OK);
    let body: Value = rejected.json().await.unwrap();
    assert_eq!(
        (body["status"].as_str(), body["cancelReason"].as_str()),
        (Some("Rejected"), Some("sold out"))
    );
    let events = app.store_events(1, Duration::from_secs(3)).await;
    assert_eq!(types(&events), ["StoreOrderRejected"]);
    assert_eq!(events[0]["data"]["reason"], "sold out");
    app.finish().await;
}

#[tokio::test]
async fn only_the_owner_of_the_orders_store_acts_on_it_or_lists_its_orders() {
    let app = spawn_app().await;
    let store_id = app.a_store().await;
    let placed = order_placed(store_id);
    let id = order_id(&placed);
    app.publish(&placed).await;
    app.wait_for_order(store_id, id, "Received").await;

    let other_owner = app.act(id, "accept", "oscar", "owner").await;
    let customer = app.act(id, "accept", "alice", "customer").await;
    let unknown = app.act(Uuid::new_v4(), "accept", OWNER, "owner").await;
    let list_as = |user: &str, role: &str| {
        app.app
            .get(&format!("/store-orders?storeId={store_id}"))
            .as_user(user, role)
            .send()
    };
    let other_list = list_as("oscar", "owner").await.unwrap();
    let customer_list = list_as("alice", "customer").await.unwrap();

    assert_eq!(other_owner.status(), StatusCode::NOT_FOUND);
    assert_eq!(customer.status(), StatusCode::FORBIDDEN);
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(other_list.status(), StatusCode::NOT_FOUND);
    assert_eq!(customer_list.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.store_orders(store_id).await[0]["status"], "Received");
    app.finish().await;
}

#[tokio::test]
async fn order_placed_delivered_twice_makes_one_store_order_and_never_moves_it_back() {
    let app = spawn_app().await;
    let store_id = app.a_store().await;
    let placed = order_placed(store_id);
    let id = order_id(&placed);
    app.publish(&placed).await;
    app.wait_for_order(store_id, id, "Received").await;
    app.act(id, "accept", OWNER, "owner").await;

    // The same event again, then the same order in a new event (same key, so handled after it).
    app.publish(&placed).await;
    let mut again = placed.clone();
    again.id = Uuid::now_v7();
    app.publish(&again).await;
    app.wait_for_handled(2).await;

    let orders = app.store_orders(store_id).await;
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["status"], "Accepted");
    app.finish().await;
}

#[tokio::test]
async fn newest_orders_are_listed_first() {
    let app = spawn_app().await;
    let store_id = app.a_store().await;
    let first = order_placed(store_id);
    let second = order_placed(store_id);
    app.publish(&first).await;
    app.wait_for_order(store_id, order_id(&first), "Received")
        .await;
    app.publish(&second).await;
    app.wait_for_order(store_id, order_id(&second), "Received")
        .await;

    let orders = app.store_orders(store_id).await;

    let ids: Vec<_> = orders
        .iter()
        .map(|o| o["orderId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids,
        [order_id(&second).to_string(), order_id(&first).to_string()]
    );
    app.finish().await;
}
