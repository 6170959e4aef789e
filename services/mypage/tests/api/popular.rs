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

/// The projection's own code, without Kafka: a batch applied twice (a consumer retrying after a
/// crash between the menu update and the offset commit) and an event published twice (at
/// another offset) still count each order once.
#[tokio::test]
async fn a_retried_batch_and_a_republished_event_count_each_order_once() {
    use backbone::Position;
    use mypage_service::db::menus::Counter;
    use mypage_service::events::{Counts, apply_batch};
    use secrecy::ExposeSecret;

    let app = spawn_app().await;
    let store = mypage_service::db::Store::connect(
        app.settings.mongodb_url.expose_secret(),
        &app.settings.mongodb_database,
    )
    .await
    .unwrap();
    let views = store.views(&store.generations().await.unwrap().active);
    let menu = Uuid::new_v4();
    let placed: Vec<_> = (0..4)
        .map(|_| Order::with_items("carol", vec![line(menu, "Bibimbap")]).placed())
        .collect();
    let at = |offset| Position {
        partition: 1,
        offset,
    };
    let live = |_: &shared_events::Envelope, _| Ok(Counts::Yes(Counter::Live));
    let first = [
        (&placed[0], at(10)),
        (&placed[1], at(11)),
        (&placed[2], at(12)),
    ];
    let retried = [
        (&placed[1], at(11)),
        (&placed[2], at(12)),
        (&placed[3], at(13)),
    ];
    let republished = [(&placed[0], at(14))];
    for batch in [&first[..], &retried, &republished] {
        apply_batch(&views, batch, live).await.unwrap();
    }

    let popular = app.popular(10).await;
    assert_eq!(popular.len(), 1);
    assert_eq!(popular[0]["menuItemId"], menu.to_string());
    assert_eq!(popular[0]["orderCount"], 4);
    app.finish().await;
}

/// A store's rating, as the review service publishes it, shows on its popular menus; an older
/// rating read after a newer one (a replay) changes nothing.
#[tokio::test]
async fn popular_menus_show_their_stores_latest_rating() {
    use shared_events::{Envelope, StoreRatingChanged};

    let app = spawn_app().await;
    let chicken = Uuid::new_v4();
    let order = Order::with_items("alice", vec![line(chicken, "Fried chicken")]);
    let rating = |count: u32, average: u32| {
        Envelope::new(
            "review",
            StoreRatingChanged {
                store_id: order.store_id,
                review_count: count,
                average_rating: average,
            },
        )
    };
    let older = Envelope {
        occurred_at: chrono::Utc::now() - chrono::Duration::seconds(60),
        ..rating(1, 300)
    };
    app.publish_all(&[order.placed(), rating(2, 450), older])
        .await;

    test_stack::eventually(
        std::time::Duration::from_secs(30),
        "the store's rating on its menu",
        || async {
            let popular = app.popular(10).await;
            popular
                .iter()
                .any(|m| m["menuItemId"] == chicken.to_string() && !m["storeRating"].is_null())
                .then_some(popular)
        },
    )
    .await;
    // The older one was published last: give it time to be read and ignored.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let popular = app.popular(10).await;
    let entry = popular
        .iter()
        .find(|m| m["menuItemId"] == chicken.to_string())
        .unwrap();
    assert_eq!(entry["storeRating"]["reviewCount"], 2, "{popular:?}");
    assert_eq!(entry["storeRating"]["averageRating"], 450);
    app.finish().await;
}
