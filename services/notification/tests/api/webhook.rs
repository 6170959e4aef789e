//! The webhook channel against a small receiver that fails its first calls.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use notification_service::domain::Locale;
use notification_service::settings::ChannelSettings;
use serde_json::Value;

use crate::fixtures::{Order, store_registered};
use crate::helpers::spawn_app_with;

#[derive(Clone, Default)]
struct Receiver {
    calls: Arc<Mutex<usize>>,
    fail_first: usize,
    /// Notification id → how many times it was accepted.
    accepted: Arc<Mutex<HashMap<String, usize>>>,
    /// Every body accepted, in order.
    bodies: Arc<Mutex<Vec<Value>>>,
}

async fn receive(State(receiver): State<Receiver>, Json(body): Json<Value>) -> StatusCode {
    let call = {
        let mut calls = receiver.calls.lock().unwrap();
        *calls += 1;
        *calls
    };
    if call <= receiver.fail_first {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let id = body["id"].as_str().unwrap_or_default().to_owned();
    *receiver.accepted.lock().unwrap().entry(id).or_default() += 1;
    receiver.bodies.lock().unwrap().push(body);
    StatusCode::NO_CONTENT
}

async fn start_receiver(fail_first: usize) -> (String, Receiver) {
    let receiver = Receiver {
        fail_first,
        ..Receiver::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/hook", post(receive))
        .with_state(receiver.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, receiver)
}

#[tokio::test]
async fn a_webhook_that_fails_then_recovers_receives_each_notification_exactly_once() {
    let (url, receiver) = start_receiver(5).await;
    let channel = ChannelSettings::Webhook {
        url,
        timeout: Duration::from_secs(2),
    };
    let app = spawn_app_with(channel, Locale::Ko).await;
    let order = Order::new("alice");

    app.publish_all(&order.happy_path()).await;

    let notifications = app.wait_for("alice", 6, "Sent").await;
    let accepted = receiver.accepted.lock().unwrap().clone();
    assert_eq!(accepted.len(), 6);
    for n in &notifications {
        assert_eq!(accepted.get(n["id"].as_str().unwrap()), Some(&1), "{n}");
        assert_eq!(n["channel"], "webhook");
    }
    assert!(
        *receiver.calls.lock().unwrap() >= 11,
        "the first 5 calls failed"
    );
    app.finish().await;
}

#[tokio::test]
async fn an_unreachable_webhook_leaves_notifications_failed_without_blocking_the_consumer() {
    let channel = ChannelSettings::Webhook {
        url: "http://127.0.0.1:9/unreachable".into(),
        timeout: Duration::from_millis(300),
    };
    let app = spawn_app_with(channel, Locale::Ko).await;
    let order = Order::new("alice");

    app.publish_all(&order.happy_path()).await;

    let notifications = app.wait_for("alice", 6, "Failed").await;
    assert!(notifications.iter().all(|n| n["channel"] == "webhook"));
    app.finish().await;
}

#[tokio::test]
async fn a_webhook_is_told_whom_to_tell_the_customer_or_the_stores_owner() {
    let (url, receiver) = start_receiver(0).await;
    let channel = ChannelSettings::Webhook {
        url,
        timeout: Duration::from_secs(2),
    };
    let app = spawn_app_with(channel, Locale::En).await;
    let order = Order::new("alice");

    app.publish_all(&[store_registered(order.store_id, "olivia"), order.placed()])
        .await;

    app.wait_for("alice", 1, "Sent").await;
    app.wait_for_as("olivia", "owner", 1, "Sent").await;
    let bodies = receiver.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    let customers = bodies
        .iter()
        .find(|b| b.get("customerId").is_some())
        .unwrap();
    let owners = bodies.iter().find(|b| b.get("ownerId").is_some()).unwrap();
    assert_eq!(customers["customerId"], "alice");
    assert_eq!(
        customers.get("recipient"),
        None,
        "a customer's as it always was"
    );
    assert_eq!(owners["ownerId"], "olivia");
    assert_eq!(owners["recipient"], "owner");
    assert_eq!(
        owners.get("customerId"),
        None,
        "never an owner's message to the order's customer"
    );
    assert_eq!(owners["message"], "A new order came in: 36,000 won.");
    assert_eq!(owners["orderId"], order.id.to_string());
    app.finish().await;
}
