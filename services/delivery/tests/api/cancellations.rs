use std::time::Duration;

use reqwest::StatusCode;
use uuid::Uuid;

use crate::helpers::{delivery_requested, order_canceled, spawn_app, types};

#[tokio::test]
async fn order_canceled_cancels_a_started_delivery_once() {
    let app = spawn_app().await;
    let (order_id, delivery_id) = app.a_started_delivery().await;

    let canceled = order_canceled(order_id);
    app.publish(&canceled).await;
    app.wait_for_delivery(order_id, "Canceled").await;
    app.publish(&canceled).await;
    app.publish(&order_canceled(order_id)).await;
    app.wait_for_handled(3).await;
    let complete = app.act(delivery_id, "complete", "ryan", "rider").await;

    assert_eq!(complete.status(), StatusCode::CONFLICT);
    let events = app.delivery_events(2, Duration::from_secs(3)).await;
    assert_eq!(types(&events), ["DeliveryStarted", "DeliveryCanceled"]);
    assert_eq!(events[1]["data"]["deliveryId"], delivery_id.to_string());
    app.finish().await;
}

#[tokio::test]
async fn order_canceled_before_the_delivery_request_never_starts_a_delivery() {
    let app = spawn_app().await;
    let order_id = Uuid::new_v4();

    app.publish(&order_canceled(order_id)).await;
    app.wait_for_handled(1).await;
    app.publish(&delivery_requested(order_id)).await;
    app.wait_for_handled(2).await;

    assert!(app.delivery_of(order_id).await.is_none());
    assert!(
        app.delivery_events(0, Duration::from_secs(3))
            .await
            .is_empty()
    );
    app.finish().await;
}

#[tokio::test]
async fn a_completed_delivery_stays_completed_when_the_order_is_canceled() {
    let app = spawn_app().await;
    let (order_id, delivery_id) = app.a_started_delivery().await;
    app.act(delivery_id, "complete", "ryan", "rider").await;

    app.publish(&order_canceled(order_id)).await;
    app.wait_for_handled(2).await;

    assert_eq!(
        app.delivery_of(order_id).await.unwrap()["status"],
        "Completed"
    );
    let events = app.delivery_events(2, Duration::from_secs(3)).await;
    assert_eq!(types(&events), ["DeliveryStarted", "DeliveryCompleted"]);
    app.finish().await;
}
