use shared_events::CancelReason;

use crate::fixtures::Order;
use crate::helpers::{self, spawn_app};

#[tokio::test]
async fn rebuild_reproduces_the_live_view_exactly_and_swaps_it_in() {
    let app = spawn_app().await;
    let delivered = Order::new("alice");
    let canceled = Order::new("alice");
    app.publish_all(&delivered.happy_path()).await;
    app.publish_all(&[
        canceled.placed(),
        canceled.canceled(CancelReason::Customer),
        canceled.refunded(),
    ])
    .await;
    app.publish_all(&[delivered.accepted()]).await; // a late duplicate-like event with a new id
    let live_delivered = app
        .wait_for_view(delivered.id, "alice", "Delivered", 8)
        .await;
    let live_canceled = app.wait_for_view(canceled.id, "alice", "Canceled", 3).await;
    let (_, live_list) = app.get_json("/mypage/orders", "alice").await;
    let live_popular = app.popular(10).await;

    let report = mypage_service::rebuild::run(&app.settings).await.unwrap();

    assert_eq!(report.events, 11);
    let (_, rebuilt_delivered) = app
        .get_json(&format!("/mypage/orders/{}", delivered.id), "alice")
        .await;
    let (_, rebuilt_canceled) = app
        .get_json(&format!("/mypage/orders/{}", canceled.id), "alice")
        .await;
    let (_, rebuilt_list) = app.get_json("/mypage/orders", "alice").await;
    assert_eq!(rebuilt_delivered, live_delivered);
    assert_eq!(rebuilt_canceled, live_canceled);
    assert_eq!(rebuilt_list, live_list);
    assert_eq!(app.popular(10).await, live_popular);

    // The live consumer now writes to the rebuilt generation.
    let after = Order::new("alice");
    app.publish_all(&[after.placed()]).await;
    app.wait_for_view(after.id, "alice", "Placed", 1).await;
    app.finish().await;
}

#[tokio::test]
async fn a_rebuild_writes_each_order_once_however_far_apart_its_events_are_in_kafka() {
    let app = spawn_app().await;
    let orders: Vec<Order> = (0..20).map(|_| Order::new("bob")).collect();
    let events: Vec<_> = orders.iter().flat_map(Order::happy_path).collect();
    // One topic after the other: every order's events are spread over the whole history.
    for topic in mypage_service::events::TOPICS {
        let of_topic: Vec<_> = events
            .iter()
            .filter(|e| e.event.topic() == topic)
            .cloned()
            .collect();
        app.publish_all(&of_topic).await;
    }
    for order in &orders {
        app.wait_for_view(order.id, "bob", "Delivered", 7).await;
    }

    mypage_service::rebuild::run(&app.settings).await.unwrap();

    let store =
        mypage_service::db::Store::connect(&helpers::mongodb_url(), &app.settings.mongodb_database)
            .await
            .unwrap();
    let views = store.views(&store.generations().await.unwrap().active);
    for order in &orders {
        let stored = views
            .orders
            .find_one(mongodb::bson::doc! { "_id": order.id.to_string() })
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.get_i64("revision").unwrap(), 1, "order {}", order.id);
    }
    app.finish().await;
}
