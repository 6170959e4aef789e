use std::collections::HashSet;

use crate::helpers::{self, order_placed, publish, spawn_app, start_instance};

#[tokio::test]
async fn a_store_service_that_was_down_catches_up_with_each_order_once() {
    let app = spawn_app().await;
    let store_id = app.a_store().await;
    let before = order_placed(store_id);
    app.publish(&before).await;
    app.wait_for_order(store_id, before.event.order_id().unwrap(), "Received")
        .await;

    let helpers::TestApp {
        app: running,
        db,
        kafka,
    } = app;
    running.stop().await;
    let missed: Vec<_> = (0..5).map(|_| order_placed(store_id)).collect();
    for envelope in &missed {
        publish(&kafka, envelope).await;
    }
    let app = helpers::start(db, kafka).await;

    for envelope in &missed {
        app.wait_for_order(store_id, envelope.event.order_id().unwrap(), "Received")
            .await;
    }
    app.wait_for_handled(6).await;
    let orders = app.store_orders(store_id).await;
    assert_eq!(orders.len(), 6);
    app.finish().await;
}

#[tokio::test]
async fn two_instances_in_one_consumer_group_make_each_order_exactly_once() {
    let app = spawn_app().await;
    let replica = start_instance(&app.db, &app.kafka).await;
    let store_id = app.a_store().await;

    let placed: Vec<_> = (0..20).map(|_| order_placed(store_id)).collect();
    futures::future::join_all(placed.iter().map(|e| app.publish(e))).await;

    app.wait_for_handled(20).await;
    let orders = app.store_orders(store_id).await;
    let ids: HashSet<_> = orders
        .iter()
        .map(|o| o["orderId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(orders.len(), 20);
    assert_eq!(ids.len(), 20);
    let handled: i64 =
        sqlx::query_scalar("select count(*) from inbox where consumer = 'store.orders'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(handled, 20, "no event handled twice");
    replica.stop().await;
    app.finish().await;
}
