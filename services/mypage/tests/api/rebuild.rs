use shared_events::CancelReason;

use crate::fixtures::Order;
use crate::helpers::spawn_app;

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
