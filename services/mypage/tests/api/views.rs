use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use shared_events::{CancelReason, DeliveryAccidentReported, Envelope};

use crate::fixtures::Order;
use crate::helpers::{spawn_app, start, test_settings};

#[tokio::test]
async fn a_delivered_order_reads_delivered_with_its_complete_history() {
    let app = spawn_app().await;
    let order = Order::new("alice");
    let events = order.happy_path();

    app.publish_all(&events).await;

    let view = app.wait_for_view(order.id, "alice", "Delivered", 7).await;
    assert_eq!(view["orderId"], order.id.to_string());
    assert_eq!(view["customerId"], "alice");
    assert_eq!(view["storeId"], order.store_id.to_string());
    assert_eq!(view["totalPrice"], 36_000);
    assert_eq!(view["items"][0]["name"], "Fried chicken");
    assert_eq!(view["paymentStatus"], "Approved");
    assert_eq!(view["storeStatus"], "Cooked");
    assert_eq!(view["deliveryStatus"], "Completed");
    assert!(view.get("cancelReason").is_none());
    let types: Vec<_> = view["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["eventType"].clone())
        .collect();
    let expected: Vec<Value> = events.iter().map(|e| e.type_name().into()).collect();
    assert_eq!(types, expected, "history in the order things happened");
    let (status, list) = app.get_json("/mypage/orders", "alice").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    app.finish().await;
}

#[tokio::test]
async fn canceled_rejected_and_crashed_orders_read_canceled_with_the_reason_and_refunded() {
    let app = spawn_app().await;
    let by_customer = Order::new("alice");
    let rejected = Order::new("alice");
    let accident = Order::new("alice");
    let crash = Envelope::new(
        "delivery",
        DeliveryAccidentReported {
            delivery_id: accident.delivery_id,
            order_id: accident.id,
            customer_id: "alice".into(),
            reason: "scooter crash".into(),
        },
    );

    app.publish_all(&[
        by_customer.placed(),
        by_customer.canceled(CancelReason::Customer),
        by_customer.refunded(),
    ])
    .await;
    app.publish_all(&[
        rejected.placed(),
        rejected.rejected(),
        rejected.canceled(CancelReason::StoreRejected),
        rejected.refunded(),
    ])
    .await;
    let mut accident_events = accident.happy_path();
    accident_events.truncate(6);
    accident_events.extend([
        crash,
        accident.canceled(CancelReason::DeliveryAccident),
        accident.refunded(),
    ]);
    app.publish_all(&accident_events).await;

    for (order, reason, history) in [
        (&by_customer, "customer", 3),
        (&rejected, "store_rejected", 4),
        (&accident, "delivery_accident", 9),
    ] {
        let view = app
            .wait_for_view(order.id, "alice", "Canceled", history)
            .await;
        assert_eq!(view["cancelReason"], reason);
        assert_eq!(view["paymentStatus"], "Refunded");
    }
    let accident_view = app.wait_for_view(accident.id, "alice", "Canceled", 9).await;
    assert_eq!(accident_view["deliveryStatus"], "Failed");
    app.finish().await;
}

#[tokio::test]
async fn the_same_events_twice_or_shuffled_across_topics_give_identical_documents() {
    let in_order = spawn_app().await;
    let shuffled = spawn_app().await;
    let order = Order::new("alice");
    let events = order.happy_path();
    let mut mixed: Vec<Envelope> = events.iter().rev().cloned().collect();
    mixed.extend(events.iter().step_by(2).cloned());
    mixed.rotate_left(3);

    in_order.publish_all(&events).await;
    shuffled.publish_all(&mixed).await;

    let expected = in_order
        .wait_for_view(order.id, "alice", "Delivered", 7)
        .await;
    let actual = shuffled
        .wait_for_view(order.id, "alice", "Delivered", 7)
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, settled) = shuffled
        .get_json(&format!("/mypage/orders/{}", order.id), "alice")
        .await;
    assert_eq!(actual, expected);
    assert_eq!(settled, expected, "duplicates arriving late change nothing");
    in_order.finish().await;
    shuffled.finish().await;
}

#[tokio::test]
async fn customers_see_only_their_own_orders() {
    let app = spawn_app().await;
    let alices = Order::new("alice");
    app.publish_all(&[alices.placed()]).await;
    app.wait_for_view(alices.id, "alice", "Placed", 1).await;

    let (status, _) = app
        .get_json(&format!("/mypage/orders/{}", alices.id), "bob")
        .await;
    let (_, bobs) = app.get_json("/mypage/orders", "bob").await;
    let anonymous = app.app.get("/mypage/orders").send().await.unwrap();

    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(bobs, serde_json::json!([]));
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    app.finish().await;
}

#[tokio::test]
async fn a_mypage_that_was_down_catches_up_on_what_it_missed() {
    let settings = test_settings().await;
    let app = start(settings.clone()).await;
    let before = Order::new("alice");
    app.publish_all(&before.happy_path()[..3]).await;
    app.wait_for_view(before.id, "alice", "Accepted", 3).await;
    let settings = app.stop().await;

    let missed = Order::new("alice");
    for envelope in before.happy_path()[3..]
        .iter()
        .chain(missed.happy_path().iter())
    {
        crate::helpers::publish(&settings, envelope).await;
    }
    let app = start(settings).await;

    app.wait_for_view(before.id, "alice", "Delivered", 7).await;
    app.wait_for_view(missed.id, "alice", "Delivered", 7).await;
    app.finish().await;
}

#[tokio::test]
async fn a_writer_whose_remembered_copy_is_stale_reads_the_view_again_and_loses_nothing() {
    let settings = test_settings().await;
    let url = crate::helpers::mongodb_url();
    let connect = || mypage_service::db::Store::connect(&url, &settings.mongodb_database);
    // Two processes writing the same generation (the live consumer and a rebuild, or two
    // replicas during a rebalance), each remembering what it wrote.
    let (one, other) = (connect().await.unwrap(), connect().await.unwrap());
    let (one, other) = (one.views("g0"), other.views("g0"));
    let order = Order::new("carol");
    let [placed, approved, accepted, ..] = &order.happy_path()[..] else {
        unreachable!()
    };
    let at = |offset| backbone::Position {
        partition: 0,
        offset,
    };

    one.apply_all(&[(placed, at(0))], 4).await.unwrap();
    other.apply_all(&[(approved, at(1))], 4).await.unwrap();
    one.apply_all(&[(accepted, at(2))], 4).await.unwrap();

    let view = one.view(order.id).await.unwrap().unwrap();
    let seen: Vec<_> = view.history.iter().map(|h| h.event_id).collect();
    assert_eq!(seen.len(), 3, "{view:?}");
    for event in [placed, approved, accepted] {
        assert!(seen.contains(&event.id), "{} missing: {view:?}", event.id);
    }
    crate::helpers::drop_database(&settings).await;
}

/// A store remembering no view in full, and which are stored up to `ids` of them: the path an
/// order's events take once they come further apart than the copies kept.
async fn store_remembering_ids(
    settings: &mypage_service::Settings,
    ids: usize,
) -> mypage_service::db::Store {
    let url = crate::helpers::mongodb_url();
    mypage_service::db::Store::connect(&url, &settings.mongodb_database)
        .await
        .unwrap()
        .remembering(mypage_service::db::recent::Remembered { copies: 0, ids })
}

/// Runs `work` with a metrics recorder of its own (on this thread: the test's runtime has one)
/// and returns its output with the inserts refused meanwhile for views stored already.
async fn counting_refused_inserts<T>(work: impl std::future::Future<Output = T>) -> (T, f64) {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let output = {
        let _local = metrics::set_default_local_recorder(&recorder);
        work.await
    };
    let text = recorder.handle().render();
    let refused = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("mypage_view_inserts_refused_total ")?
                .parse()
                .ok()
        })
        .unwrap_or(0.0);
    (output, refused)
}

fn at(offset: i64) -> backbone::Position {
    backbone::Position {
        partition: 0,
        offset,
    }
}

#[tokio::test]
async fn a_view_known_stored_but_not_remembered_is_read_then_swapped_beside_new_ones() {
    let settings = test_settings().await;
    let views = store_remembering_ids(&settings, 1_000).await.views("g0");
    let (earlier, fresh) = (Order::new("dave"), Order::new("erin"));
    let earlier_events = earlier.happy_path();
    let fresh_events = fresh.happy_path();

    views
        .apply_all(&[(&earlier_events[0], at(0))], 4)
        .await
        .unwrap();
    // One batch: the stored order's next events and a new order's first, as under load.
    let (applied, refused) = counting_refused_inserts(views.apply_all(
        &[
            (&earlier_events[1], at(1)),
            (&fresh_events[0], at(2)),
            (&earlier_events[2], at(3)),
        ],
        4,
    ))
    .await;
    applied.unwrap();
    assert_eq!(
        refused, 0.0,
        "the stored view was put in the batch's insert"
    );

    let stored = views.view(earlier.id).await.unwrap().unwrap();
    let seen: Vec<_> = stored.history.iter().map(|h| h.event_id).collect();
    let expected: Vec<_> = earlier_events[..3].iter().map(|e| e.id).collect();
    assert_eq!(seen, expected, "{stored:?}");
    let new = views.view(fresh.id).await.unwrap().unwrap();
    assert_eq!(new.history.len(), 1, "{new:?}");
    crate::helpers::drop_database(&settings).await;
}

#[tokio::test]
async fn a_view_thought_stored_that_is_gone_is_inserted_again() {
    let settings = test_settings().await;
    let views = store_remembering_ids(&settings, 1_000).await.views("g0");
    let order = Order::new("frank");
    let events = order.happy_path();
    views.apply_all(&[(&events[0], at(0))], 4).await.unwrap();
    views
        .orders
        .delete_one(mongodb::bson::doc! { "_id": order.id.to_string() })
        .await
        .unwrap();

    views.apply_all(&[(&events[1], at(1))], 4).await.unwrap();

    let view = views.view(order.id).await.unwrap().expect("inserted again");
    let seen: Vec<_> = view.history.iter().map(|h| h.event_id).collect();
    assert_eq!(seen, [events[1].id], "{view:?}");
    crate::helpers::drop_database(&settings).await;
}

#[tokio::test]
async fn a_stored_view_this_process_knows_nothing_of_is_tried_as_new_refused_and_counted() {
    let settings = test_settings().await;
    let views = store_remembering_ids(&settings, 0).await.views("g0");
    let order = Order::new("grace");
    let events = order.happy_path();
    views.apply_all(&[(&events[0], at(0))], 4).await.unwrap();

    let (applied, refused) =
        counting_refused_inserts(views.apply_all(&[(&events[1], at(1))], 4)).await;

    applied.unwrap();
    assert_eq!(refused, 1.0);
    let view = views.view(order.id).await.unwrap().unwrap();
    let seen: Vec<_> = view.history.iter().map(|h| h.event_id).collect();
    assert_eq!(seen, [events[0].id, events[1].id], "{view:?}");
    crate::helpers::drop_database(&settings).await;
}
