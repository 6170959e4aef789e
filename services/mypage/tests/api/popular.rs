use shared_events::CancelReason;
use uuid::Uuid;

use crate::fixtures::{Order, line};
use crate::helpers::spawn_app;

#[tokio::test]
async fn popular_menu_counts_are_exact_after_placed_and_canceled_orders() {
    let app = spawn_app().await;
    let (chicken, pizza, noodles) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let noodles_store = Uuid::new_v4();
    let both = || vec![line(chicken, "Fried chicken"), line(pizza, "Pizza")];
    let orders: Vec<Order> = (0..4).map(|_| Order::with_items("alice", both())).collect();
    // A menu item belongs to one store.
    let noodle_orders: Vec<Order> = (0..2)
        .map(|_| Order::with_items("bob", vec![line(noodles, "Noodles")]))
        .map(|o| Order {
            store_id: noodles_store,
            ..o
        })
        .collect();

    // 4 chicken+pizza orders, one canceled (its cancellation delivered twice);
    // 2 noodle orders, one canceled before its placement arrives; duplicates of placements.
    let canceled = orders[0].canceled(CancelReason::Customer);
    let early_cancel = noodle_orders[0].canceled(CancelReason::PaymentFailed);
    let mut events = vec![early_cancel.clone()];
    for order in orders.iter().chain(&noodle_orders) {
        let placed = order.placed();
        events.push(placed.clone());
        events.push(placed);
    }
    events.extend([canceled.clone(), canceled, early_cancel]);
    app.publish_all(&events).await;

    let expected = [(chicken, 3), (pizza, 3), (noodles, 1)];
    let popular = test_stack::eventually(
        std::time::Duration::from_secs(30),
        "exact counts",
        || async {
            let popular = app.popular(10).await;
            let count = |id: Uuid| {
                popular
                    .iter()
                    .find(|m| m["menuItemId"] == id.to_string())
                    .map(|m| m["orderCount"].clone())
            };
            expected
                .iter()
                .all(|(id, n)| count(*id) == Some((*n).into()))
                .then_some(popular)
        },
    )
    .await;
    assert_eq!(popular.len(), 3);
    assert_eq!(
        popular[2]["menuItemId"],
        noodles.to_string(),
        "sorted by count"
    );
    assert_eq!(popular[2]["name"], "Noodles");
    assert_eq!(popular[2]["storeId"], noodles_store.to_string());
    assert_eq!(app.popular(1).await.len(), 1);
    app.finish().await;
}
