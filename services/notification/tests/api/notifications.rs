use notification_service::domain::Locale;
use notification_service::settings::ChannelSettings;
use shared_events::{CancelReason, DeliveryAccidentReported, Envelope};

use crate::fixtures::Order;
use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn a_delivered_order_sends_one_notification_per_status_change() {
    let app = spawn_app().await;
    let order = Order::new("alice");

    app.publish_all(&order.happy_path()).await;

    let notifications = app.wait_for("alice", 6, "Sent").await;
    let mut types: Vec<_> = notifications
        .iter()
        .map(|n| n["eventType"].as_str().unwrap())
        .collect();
    types.sort_unstable();
    assert_eq!(
        types,
        [
            "CookingFinished",
            "CookingStarted",
            "DeliveryCompleted",
            "DeliveryStarted",
            "OrderPlaced",
            "StoreOrderAccepted"
        ],
        "one per status change, none for the payment approval"
    );
    let created: Vec<_> = notifications
        .iter()
        .map(|n| n["createdAt"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {created:?}"
    );
    let first = notifications
        .iter()
        .find(|n| n["eventType"] == "OrderPlaced")
        .unwrap();
    assert_eq!(first["orderId"], order.id.to_string());
    assert_eq!(first["customerId"], "alice");
    assert_eq!(first["channel"], "log");
    assert_eq!(
        first["message"],
        "주문이 접수되었습니다. 결제 금액 36,000원"
    );
    assert!(first["createdAt"].as_str().is_some() && first["id"].as_str().is_some());
    app.finish().await;
}

#[tokio::test]
async fn a_redelivered_event_sends_no_second_notification() {
    let app = spawn_app().await;
    let order = Order::new("alice");
    let placed = order.placed();

    app.publish(&placed).await;
    app.publish(&placed).await;
    let later = order.accepted();
    app.publish(&later).await;
    app.publish(&placed).await;

    app.wait_for("alice", 2, "Sent").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(app.notifications("alice", "customer").await.len(), 2);
    app.finish().await;
}

#[tokio::test]
async fn cancellations_tell_the_customer_why_and_about_the_refund() {
    let app = spawn_app_with(ChannelSettings::Log, Locale::En).await;
    let by_customer = Order::new("alice");
    let rejected = Order::new("bob");
    let accident = Order::new("carol");
    let accident_event = Envelope::new(
        "delivery",
        DeliveryAccidentReported {
            delivery_id: accident.delivery_id,
            order_id: accident.id,
            customer_id: "carol".into(),
            reason: "scooter crash".into(),
        },
    );

    app.publish_all(&[
        by_customer.placed(),
        by_customer.canceled(CancelReason::Customer),
        by_customer.refunded(),
        rejected.placed(),
        rejected.rejected(),
        rejected.canceled(CancelReason::StoreRejected),
        rejected.refunded(),
        accident.placed(),
        accident.accepted(),
        accident.cooking(),
        accident.cooked(),
        accident.delivering(),
        accident_event,
        accident.canceled(CancelReason::DeliveryAccident),
        accident.refunded(),
    ])
    .await;

    // Topics are consumed independently, so look messages up by type rather than position.
    let alice = app.wait_for("alice", 3, "Sent").await;
    assert_eq!(
        message(&alice, "OrderCanceled"),
        "Your order was canceled: you asked for it."
    );
    assert_eq!(
        message(&alice, "PaymentCanceled"),
        "Your payment was refunded: 36,000 won."
    );
    let bob = app.wait_for("bob", 4, "Sent").await;
    assert_eq!(
        message(&bob, "StoreOrderRejected"),
        "The store rejected your order: sold out."
    );
    let carol = app.wait_for("carol", 7, "Sent").await;
    assert_eq!(
        message(&carol, "OrderCanceled"),
        "Your order was canceled: a delivery accident."
    );
    assert_eq!(
        message(&carol, "PaymentCanceled"),
        "Your payment was refunded: 36,000 won."
    );
    app.finish().await;
}

fn message<'a>(notifications: &'a [serde_json::Value], event_type: &str) -> &'a str {
    notifications
        .iter()
        .find(|n| n["eventType"] == event_type)
        .and_then(|n| n["message"].as_str())
        .unwrap_or_else(|| panic!("no {event_type} notification"))
}

#[tokio::test]
async fn customers_see_only_their_own_notifications_and_admins_see_all() {
    let app = spawn_app().await;
    let alices = Order::new("alice");
    let bobs = Order::new("bob");

    app.publish_all(&[alices.placed(), bobs.placed(), bobs.accepted()])
        .await;

    let alice = app.wait_for("alice", 1, "Sent").await;
    let bob = app.wait_for("bob", 2, "Sent").await;
    assert!(alice.iter().all(|n| n["customerId"] == "alice"));
    assert!(bob.iter().all(|n| n["customerId"] == "bob"));
    assert_eq!(app.notifications("root", "admin").await.len(), 3);
    assert!(app.notifications("mallory", "customer").await.is_empty());
    app.finish().await;
}
