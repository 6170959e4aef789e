//! Notifications for store owners: a new order, its cancellation, an accident on its way, each
//! once, addressed to the store's owner whenever its `StoreRegistered` arrives.

use std::time::Duration;

use notification_service::domain::Locale;
use notification_service::settings::ChannelSettings;
use serde_json::Value;
use shared_events::CancelReason;

use crate::fixtures::{Order, accident, store_registered};
use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn the_owner_is_told_once_of_each_order_cancellation_and_accident_even_when_redelivered() {
    let app = spawn_app_with(ChannelSettings::Log, Locale::En).await;
    let canceled = Order::new("alice");
    let mut crashed = Order::new("bob");
    crashed.store_id = canceled.store_id;
    let elsewhere = Order::new("carol");
    let events = [
        store_registered(canceled.store_id, "olivia"),
        store_registered(elsewhere.store_id, "oscar"),
        canceled.placed(),
        canceled.canceled(CancelReason::Customer),
        crashed.placed(),
        accident(&crashed),
        crashed.canceled(CancelReason::DeliveryAccident),
    ];

    app.publish_all(&events).await;
    app.publish_all(&events).await;

    let olivia = app.wait_for_as("olivia", "owner", 5, "Sent").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.notifications("olivia", "owner").await.len(), 5);
    let of = |order: &Order, event_type: &str| -> Vec<String> {
        olivia
            .iter()
            .filter(|n| n["orderId"] == order.id.to_string() && n["eventType"] == event_type)
            .map(|n| n["message"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        of(&canceled, "OrderPlaced"),
        ["A new order came in: 36,000 won."]
    );
    assert_eq!(
        of(&canceled, "OrderCanceled"),
        ["An order was canceled: the customer canceled it."]
    );
    assert_eq!(
        of(&crashed, "DeliveryAccidentReported"),
        ["An order had an accident on its way: scooter crash."]
    );
    assert_eq!(
        of(&crashed, "OrderCanceled"),
        ["An order was canceled: a delivery accident."]
    );
    assert!(olivia.iter().all(|n| n["recipient"] == "Owner"));
    for n in &olivia {
        let customer = if n["orderId"] == canceled.id.to_string() {
            "alice"
        } else {
            "bob"
        };
        assert_eq!(n["customerId"], customer, "whose order it is");
    }
    assert!(
        app.notifications("oscar", "owner").await.is_empty(),
        "not oscar's store"
    );
    // The customers' notifications are what they were: one each for placed and canceled.
    let alice = app.wait_for("alice", 2, "Sent").await;
    assert!(alice.iter().all(|n| n["recipient"] == "Customer"));
    assert_eq!(
        message(&alice, "OrderCanceled"),
        "Your order was canceled: you asked for it."
    );
    assert!(app.notifications("olivia", "customer").await.is_empty());
    assert_eq!(app.notifications("root", "admin").await.len(), 5 + 2 + 2);
    app.finish().await;
}

#[tokio::test]
async fn an_owner_learned_after_the_orders_events_gets_each_notification_once_then() {
    let app = spawn_app().await;
    let order = Order::new("alice");

    // The accident before the order it befell, and both before the store's owner is known.
    app.publish_all(&[accident(&order), order.placed()]).await;
    test_stack::wait_for_inbox(&app.db.pool, "notification.notifier", 2).await;
    app.wait_for("alice", 1, "Sent").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let unaddressed = app.notifications("olivia", "owner").await;
    let admin_before = app.notifications("root", "admin").await;
    app.publish(&store_registered(order.store_id, "olivia"))
        .await;
    app.publish(&store_registered(order.store_id, "olivia"))
        .await;

    assert!(unaddressed.is_empty(), "{unaddressed:?}");
    assert_eq!(
        admin_before.len(),
        1,
        "only the customer's has a recipient yet"
    );
    let olivia = app.wait_for_as("olivia", "owner", 2, "Sent").await;
    let mut types: Vec<&str> = olivia
        .iter()
        .map(|n| n["eventType"].as_str().unwrap())
        .collect();
    types.sort_unstable();
    assert_eq!(types, ["DeliveryAccidentReported", "OrderPlaced"]);
    assert_eq!(
        message(&olivia, "OrderPlaced"),
        "새 주문이 들어왔습니다. 주문 금액 36,000원"
    );
    assert_eq!(
        message(&olivia, "DeliveryAccidentReported"),
        "배달 중 사고가 났습니다. 사유: scooter crash"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.notifications("olivia", "owner").await.len(), 2);
    app.finish().await;
}

fn message<'a>(notifications: &'a [Value], event_type: &str) -> &'a str {
    notifications
        .iter()
        .find(|n| n["eventType"] == event_type)
        .and_then(|n| n["message"].as_str())
        .unwrap_or_else(|| panic!("no {event_type} notification"))
}
