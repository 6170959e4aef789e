//! The sagas of the design, through the public API: the happy path and every compensation.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::system::{System, find, status_of};

#[tokio::test]
async fn the_happy_path_ends_delivered_everywhere_with_each_event_published_once() {
    // Arrange
    let system = System::start().await;
    let (owner, alice, rider) = (
        system.user("olivia", "owner").await,
        system.user("alice", "customer").await,
        system.user("ryan", "rider").await,
    );
    let (store_id, item_id) = system.open_store(&owner).await;

    // Act: the customer orders, the owner cooks, the rider delivers.
    let order_id = alice.place(&store_id, &item_id).await;
    owner.cook(&store_id, &order_id).await;
    rider.deliver(&order_id).await;

    // Assert: every service and the read model agree.
    alice
        .wait_for(&format!("/orders/{order_id}"), "Delivered", |o| {
            o["status"] == "Delivered"
        })
        .await;
    let view = alice
        .wait_for(&format!("/mypage/orders/{order_id}"), "the view", |v| {
            v["orderStatus"] == "Delivered" && v["deliveryStatus"] == "Completed"
        })
        .await;
    assert_eq!(view["paymentStatus"], "Approved");
    assert_eq!(view["storeStatus"], "Cooked");
    let history: Vec<&str> = view["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["eventType"].as_str().unwrap())
        .collect();
    for event in [
        "OrderPlaced",
        "PaymentApproved",
        "StoreOrderAccepted",
        "CookingStarted",
        "CookingFinished",
        "DeliveryStarted",
        "DeliveryCompleted",
    ] {
        assert_eq!(
            history.iter().filter(|h| **h == event).count(),
            1,
            "{event} once in {history:?}"
        );
    }
    let notifications = alice
        .wait_for("/notifications", "six notifications", |l| {
            l.as_array().is_some_and(|l| {
                l.iter()
                    .filter(|n| n["orderId"] == order_id.as_str())
                    .count()
                    >= 6
            })
        })
        .await;
    let mut kinds: Vec<&str> = notifications
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["orderId"] == order_id.as_str())
        .map(|n| n["eventType"].as_str().unwrap())
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "CookingFinished",
            "CookingStarted",
            "DeliveryCompleted",
            "DeliveryStarted",
            "OrderPlaced",
            "StoreOrderAccepted"
        ],
        "one notification per status change"
    );
    assert_eq!(
        system.events_of(&order_id).await,
        [
            "CookingFinished",
            "CookingStarted",
            "DeliveryCompleted",
            "DeliveryRequested",
            "DeliveryStarted",
            "OrderPlaced",
            "PaymentApproved",
            "StoreOrderAccepted"
        ],
        "each event published exactly once"
    );
    system.finish().await;
}

#[tokio::test]
async fn a_store_rejection_cancels_the_order_and_refunds_it() {
    let system = System::start().await;
    let (owner, alice) = (
        system.user("olivia", "owner").await,
        system.user("alice", "customer").await,
    );
    let (store_id, item_id) = system.open_store(&owner).await;
    let order_id = alice.place(&store_id, &item_id).await;
    owner.wait_for_store_order(&store_id, &order_id).await;

    let (status, _) = owner
        .send(
            Method::POST,
            &format!("/store-orders/{order_id}/reject"),
            Some(json!({ "reason": "sold out" })),
        )
        .await;

    assert_eq!(status, StatusCode::OK);
    let order = alice
        .wait_for(&format!("/orders/{order_id}"), "Canceled", |o| {
            o["status"] == "Canceled"
        })
        .await;
    assert_eq!(order["cancelReason"], "store_rejected");
    alice.wait_for_payment(&order_id, "Refunded").await;
    let view = alice
        .wait_for(
            &format!("/mypage/orders/{order_id}"),
            "the canceled view",
            |v| v["orderStatus"] == "Canceled" && v["paymentStatus"] == "Refunded",
        )
        .await;
    assert_eq!(view["cancelReason"], "store_rejected");
    alice
        .wait_for("/notifications", "the refund notification", |l| {
            l.as_array().is_some_and(|l| {
                l.iter().any(|n| {
                    n["orderId"] == order_id.as_str() && n["eventType"] == "PaymentCanceled"
                })
            })
        })
        .await;
    system.finish().await;
}

#[tokio::test]
async fn a_delivery_accident_cancels_and_refunds_and_the_delivery_stays_failed() {
    let system = System::start().await;
    let (owner, alice, rider) = (
        system.user("olivia", "owner").await,
        system.user("alice", "customer").await,
        system.user("ryan", "rider").await,
    );
    let (store_id, item_id) = system.open_store(&owner).await;
    let order_id = alice.place(&store_id, &item_id).await;
    owner.wait_for_store_order(&store_id, &order_id).await;
    for step in ["accept", "start-cooking", "finish-cooking"] {
        assert_eq!(
            owner
                .post(&format!("/store-orders/{order_id}/{step}"))
                .await
                .0,
            StatusCode::OK
        );
    }
    let deliveries = format!("/deliveries?orderId={order_id}");
    let started = rider
        .wait_for(&deliveries, "the delivery", |l| {
            l.as_array().is_some_and(|l| !l.is_empty())
        })
        .await;
    let delivery_id = started[0]["id"].as_str().unwrap().to_owned();

    let (status, _) = rider
        .send(
            Method::POST,
            &format!("/deliveries/{delivery_id}/accident"),
            Some(json!({ "reason": "scooter crash" })),
        )
        .await;

    assert_eq!(status, StatusCode::OK);
    let order = alice
        .wait_for(&format!("/orders/{order_id}"), "Canceled", |o| {
            o["status"] == "Canceled"
        })
        .await;
    assert_eq!(order["cancelReason"], "delivery_accident");
    alice.wait_for_payment(&order_id, "Refunded").await;
    // The order's cancellation reaches the delivery too, and must not turn Failed into Canceled.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        status_of(&rider.get(&deliveries).await, "id", &delivery_id).as_deref(),
        Some("Failed")
    );
    system.finish().await;
}

#[tokio::test]
async fn a_customer_cancel_before_cooking_cancels_the_store_order_refunds_and_never_delivers() {
    let system = System::start().await;
    let (owner, alice, rider) = (
        system.user("olivia", "owner").await,
        system.user("alice", "customer").await,
        system.user("ryan", "rider").await,
    );
    let (store_id, item_id) = system.open_store(&owner).await;
    let order_id = alice.place(&store_id, &item_id).await;
    let store_orders = format!("/store-orders?storeId={store_id}");
    owner
        .wait_for(&store_orders, "the store order", |l| {
            find(l, "orderId", &order_id).is_some()
        })
        .await;
    assert_eq!(
        owner
            .post(&format!("/store-orders/{order_id}/accept"))
            .await
            .0,
        StatusCode::OK
    );

    let (status, order) = alice.post(&format!("/orders/{order_id}/cancel")).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(order["status"], "Canceled");
    owner
        .wait_for(&store_orders, "the store order canceled", |l| {
            status_of(l, "orderId", &order_id).as_deref() == Some("Canceled")
        })
        .await;
    alice.wait_for_payment(&order_id, "Refunded").await;
    let (status, _) = owner
        .post(&format!("/store-orders/{order_id}/start-cooking"))
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "nothing to cook for a canceled order"
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let deliveries = rider.get(&format!("/deliveries?orderId={order_id}")).await;
    assert_eq!(deliveries, json!([]), "no delivery ever starts");
    system.finish().await;
}
