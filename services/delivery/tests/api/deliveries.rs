use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use test_stack::AsUser;
use uuid::Uuid;

use crate::helpers::{ADDRESS, CUSTOMER, delivery_requested, spawn_app, types};

#[tokio::test]
async fn a_requested_delivery_starts_and_publishes_delivery_started() {
    let app = spawn_app().await;
    let order_id = Uuid::new_v4();

    app.publish(&delivery_requested(order_id)).await;

    let delivery = app.wait_for_delivery(order_id, "Started").await;
    assert_eq!(delivery["orderId"], order_id.to_string());
    assert_eq!(delivery["customerId"], CUSTOMER);
    assert_eq!(delivery["address"], ADDRESS);
    assert!(delivery["createdAt"].is_string() && delivery["updatedAt"].is_string());
    let events = app.delivery_events(1, Duration::from_secs(5)).await;
    assert_eq!(types(&events), ["DeliveryStarted"]);
    assert_eq!(events[0]["orderId"], order_id.to_string());
    assert_eq!(events[0]["data"]["deliveryId"], delivery["id"]);
    assert_eq!(events[0]["data"]["customerId"], CUSTOMER);
    assert_eq!(events[0]["data"]["address"], ADDRESS);
    app.finish().await;
}

#[tokio::test]
async fn a_delivery_request_delivered_twice_makes_one_delivery() {
    let app = spawn_app().await;
    let order_id = Uuid::new_v4();
    let requested = delivery_requested(order_id);

    app.publish(&requested).await;
    app.publish(&requested).await;
    let mut again = requested.clone();
    again.id = Uuid::now_v7();
    app.publish(&again).await;
    app.wait_for_handled(2).await;

    assert_eq!(
        app.wait_for_delivery(order_id, "Started").await["orderId"],
        order_id.to_string()
    );
    let events = app.delivery_events(1, Duration::from_secs(3)).await;
    assert_eq!(types(&events), ["DeliveryStarted"]);
    app.finish().await;
}

#[tokio::test]
async fn a_rider_completes_a_delivery_once() {
    let app = spawn_app().await;
    let (_, delivery_id) = app.a_started_delivery().await;

    let completed = app.act(delivery_id, "complete", "ryan", "rider").await;
    let again = app.act(delivery_id, "complete", "ryan", "rider").await;
    let accident_after = app.act(delivery_id, "accident", "ryan", "rider").await;

    assert_eq!(completed.status(), StatusCode::OK);
    let body: Value = completed.json().await.unwrap();
    assert_eq!(body["status"], "Completed");
    for response in [again, accident_after] {
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "invalid_transition");
    }
    let events = app.delivery_events(2, Duration::from_secs(3)).await;
    assert_eq!(types(&events), ["DeliveryStarted", "DeliveryCompleted"]);
    app.finish().await;
}

#[tokio::test]
async fn an_accident_fails_the_delivery_and_publishes_its_reason() {
    let app = spawn_app().await;
    let (order_id, delivery_id) = app.a_started_delivery().await;
    let report = |body: &'static str| {
        app.app
            .post(&format!("/deliveries/{delivery_id}/accident"))
            .as_user("ryan", "rider")
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let blank = report(r#"{"reason":"  "}"#).await.unwrap();
    let malformed = report(r#"{"reason":"#).await.unwrap();
    let reported = app.act(delivery_id, "accident", "root", "admin").await;
    let complete_after = app.act(delivery_id, "complete", "ryan", "rider").await;

    assert_eq!(blank.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = blank.json().await.unwrap();
    assert_eq!(problem["code"], "invalid_reason");
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(reported.status(), StatusCode::OK);
    assert_eq!(complete_after.status(), StatusCode::CONFLICT);
    assert_eq!(app.delivery_of(order_id).await.unwrap()["status"], "Failed");
    let events = app.delivery_events(2, Duration::from_secs(3)).await;
    assert_eq!(
        types(&events),
        ["DeliveryStarted", "DeliveryAccidentReported"]
    );
    assert_eq!(events[1]["data"]["reason"], "scooter crash");
    assert_eq!(events[1]["data"]["customerId"], CUSTOMER);
    app.finish().await;
}

#[tokio::test]
async fn only_riders_and_admins_act_and_only_the_orders_customer_sees_the_delivery() {
    let app = spawn_app().await;
    let (order_id, delivery_id) = app.a_started_delivery().await;

    let by_customer = app.act(delivery_id, "complete", CUSTOMER, "customer").await;
    let by_owner = app.act(delivery_id, "accident", "olivia", "owner").await;
    let unknown = app.act(Uuid::new_v4(), "complete", "ryan", "rider").await;
    let anonymous = app
        .app
        .post(&format!("/deliveries/{delivery_id}/complete"))
        .send()
        .await
        .unwrap();
    let shared = &app;
    let seen = |user: &'static str, role: &'static str| async move {
        let response = shared.deliveries_of(order_id, user, role).await;
        assert_eq!(response.status(), StatusCode::OK, "{user}");
        response.json::<Vec<Value>>().await.unwrap().len()
    };

    assert_eq!(by_customer.status(), StatusCode::FORBIDDEN);
    assert_eq!(by_owner.status(), StatusCode::FORBIDDEN);
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(seen(CUSTOMER, "customer").await, 1);
    assert_eq!(seen("ryan", "rider").await, 1);
    assert_eq!(seen("root", "admin").await, 1);
    assert_eq!(seen("bob", "customer").await, 0);
    let owner = app.deliveries_of(order_id, "olivia", "owner").await;
    assert_eq!(owner.status(), StatusCode::FORBIDDEN);
    let bad_query = app
        .app
        .get("/deliveries?orderId=nope")
        .as_user("ryan", "rider")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_query.status(), StatusCode::BAD_REQUEST);
    app.finish().await;
}
