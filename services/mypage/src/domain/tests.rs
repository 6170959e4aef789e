#![allow(clippy::unwrap_used)]

use shared_events::{
    CancelReason, CookingFinished, CookingStarted, DeliveryCompleted, DeliveryStarted, Envelope,
    MenuItemRemoved, OrderCanceled, OrderLine, OrderPlaced, PaymentApproved, PaymentCanceled,
    StoreOrderAccepted, StoreOrderRejected,
};
use uuid::Uuid;

use super::*;

fn happy_path(order_id: Uuid) -> Vec<Envelope> {
    let (store_id, customer_id) = (Uuid::new_v4(), "alice".to_owned());
    let c = || customer_id.clone();
    vec![
        Envelope::new(
            "order",
            OrderPlaced {
                order_id,
                customer_id: c(),
                store_id,
                total_price: 36_000,
                items: vec![OrderLine {
                    menu_item_id: Uuid::new_v4(),
                    name: "Fried chicken".into(),
                    quantity: 2,
                    unit_price: 18_000,
                }],
                delivery_address: "Seoul".into(),
                payment_id: Uuid::new_v4(),
            },
        ),
        Envelope::new(
            "payment",
            PaymentApproved {
                payment_id: Uuid::new_v4(),
                order_id,
                customer_id: c(),
                amount: 36_000,
            },
        ),
        Envelope::new(
            "store",
            StoreOrderAccepted {
                order_id,
                store_id,
                customer_id: c(),
            },
        ),
        Envelope::new(
            "store",
            CookingStarted {
                order_id,
                store_id,
                customer_id: c(),
            },
        ),
        Envelope::new(
            "store",
            CookingFinished {
                order_id,
                store_id,
                customer_id: c(),
                delivery_address: "Seoul".into(),
            },
        ),
        Envelope::new(
            "delivery",
            DeliveryStarted {
                delivery_id: Uuid::new_v4(),
                order_id,
                customer_id: c(),
                address: "Seoul".into(),
            },
        ),
        Envelope::new(
            "delivery",
            DeliveryCompleted {
                delivery_id: Uuid::new_v4(),
                order_id,
                customer_id: c(),
            },
        ),
    ]
}

fn rejected_path(order_id: Uuid) -> Vec<Envelope> {
    let mut events = happy_path(order_id);
    events.truncate(2);
    let Event::OrderPlaced(placed) = &events[0].event else {
        unreachable!()
    };
    let store_id = placed.store_id;
    events.push(Envelope::new(
        "store",
        StoreOrderRejected {
            order_id,
            store_id,
            customer_id: "alice".into(),
            reason: "sold out".into(),
        },
    ));
    events.push(Envelope::new(
        "order",
        OrderCanceled {
            order_id,
            customer_id: "alice".into(),
            store_id,
            reason: CancelReason::StoreRejected,
        },
    ));
    events.push(Envelope::new(
        "payment",
        PaymentCanceled {
            payment_id: Uuid::new_v4(),
            order_id,
            customer_id: "alice".into(),
            amount: 36_000,
        },
    ));
    events
}

fn fold<'a>(events: impl IntoIterator<Item = &'a Envelope>) -> OrderView {
    let mut view = None;
    for envelope in events {
        if let Merged::Changed(next) = merge(view.clone(), envelope) {
            view = Some(next);
        }
    }
    view.unwrap()
}

/// Every rotation, its reverse, and interleavings with duplicates.
fn orderings(events: &[Envelope]) -> Vec<Vec<Envelope>> {
    let mut all = Vec::new();
    for k in 0..events.len() {
        let mut rotated = events.to_vec();
        rotated.rotate_left(k);
        all.push(rotated.iter().rev().cloned().collect());
        let mut doubled = rotated.clone();
        doubled.extend(rotated.iter().step_by(2).cloned());
        all.push(doubled);
        all.push(rotated);
    }
    all
}

#[test]
fn a_delivered_order_reads_delivered_with_its_whole_history() {
    let order_id = Uuid::new_v4();
    let events = happy_path(order_id);
    let view = fold(&events);
    assert_eq!(view.order_status, Some(OrderStatus::Delivered));
    assert_eq!(view.payment_status, Some(PaymentStatus::Approved));
    assert_eq!(view.store_status, Some(StoreStatus::Cooked));
    assert_eq!(view.delivery_status, Some(DeliveryStatus::Completed));
    assert_eq!(view.history.len(), 7);
    assert_eq!(view.updated_at, events[6].occurred_at);
    assert_eq!(view.total_price, Some(36_000));
}

#[test]
fn any_arrival_order_and_any_duplicates_give_the_same_view() {
    for events in [happy_path(Uuid::new_v4()), rejected_path(Uuid::new_v4())] {
        let expected = fold(&events);
        for ordering in orderings(&events) {
            assert_eq!(fold(&ordering), expected);
        }
    }
}

#[test]
fn a_late_earlier_event_does_not_move_the_status_back() {
    let events = happy_path(Uuid::new_v4());
    let delivered = fold(&events);
    let late = Envelope::new(
        "store",
        match &events[2].event {
            Event::StoreOrderAccepted(e) => e.clone(),
            _ => unreachable!(),
        },
    );
    let Merged::Changed(after) = merge(Some(delivered), &late) else {
        panic!("a new event")
    };
    assert_eq!(after.order_status, Some(OrderStatus::Delivered));
    assert_eq!(after.history.len(), 8);
}

#[test]
fn a_duplicate_is_recognised_and_catalog_events_ignored() {
    let events = happy_path(Uuid::new_v4());
    let view = fold(&events);
    assert_eq!(merge(Some(view.clone()), &events[3]), Merged::Duplicate);
    let removed = Envelope::new(
        "store",
        MenuItemRemoved {
            store_id: Uuid::new_v4(),
            menu_item_id: Uuid::new_v4(),
        },
    );
    assert_eq!(merge(Some(view), &removed), Merged::Ignored);
}

#[test]
fn a_rejected_order_is_canceled_with_the_reason_and_refunded() {
    let view = fold(&rejected_path(Uuid::new_v4()));
    assert_eq!(view.order_status, Some(OrderStatus::Canceled));
    assert_eq!(view.cancel_reason.as_deref(), Some("store_rejected"));
    assert_eq!(view.payment_status, Some(PaymentStatus::Refunded));
    assert_eq!(view.store_status, Some(StoreStatus::Rejected));
    assert!(view.placed() && view.canceled());
}

/// Folds like [`fold`] and adds up the count changes the new events cause.
fn counted<'a>(events: impl IntoIterator<Item = &'a Envelope>) -> i64 {
    let mut view: Option<OrderView> = None;
    let mut total = 0;
    for envelope in events {
        if let Merged::Changed(next) = merge(view.clone(), envelope) {
            total += count_change(view.as_ref(), &next);
            view = Some(next);
        }
    }
    total
}

#[test]
fn count_changes_add_up_to_the_final_contribution_in_any_order_with_duplicates() {
    for (events, expected) in [
        (happy_path(Uuid::new_v4()), 1),
        (rejected_path(Uuid::new_v4()), 0),
    ] {
        assert_eq!(contribution(Some(&fold(&events))), expected);
        for ordering in orderings(&events) {
            assert_eq!(counted(&ordering), expected);
        }
    }
}

#[test]
fn only_a_first_placement_or_cancellation_changes_the_counts() {
    let events = rejected_path(Uuid::new_v4());
    let placed = fold(&events[..1]);
    assert_eq!(count_change(None, &placed), 1);
    let approved = fold(&events[..2]);
    assert_eq!(count_change(Some(&placed), &approved), 0);
    let canceled = fold(&events[..4]);
    let rejected = fold(&events[..3]);
    assert_eq!(
        count_change(Some(&rejected), &canceled),
        -1,
        "the order's own cancellation"
    );
    assert_eq!(
        count_change(Some(&approved), &rejected),
        0,
        "the store's rejection alone"
    );
}

#[test]
fn an_order_counts_once_per_distinct_menu_item() {
    let mut view = fold(&happy_path(Uuid::new_v4())[..1]);
    let line = view.items[0].clone();
    view.items.push(line);
    assert_eq!(menu_items(&view).len(), 1);
}

/// The happy path with two changes before cooking: two chickens (as placed), three, then one.
fn changed_path(order_id: Uuid) -> Vec<Envelope> {
    let mut events = happy_path(order_id);
    let Event::OrderPlaced(placed) = &events[0].event else {
        panic!("the path starts with OrderPlaced");
    };
    let placed = placed.clone();
    let at = |version: u32, quantity: u32, address: &str| shared_events::OrderVersion {
        version,
        items: vec![OrderLine {
            quantity,
            ..placed.items[0].clone()
        }],
        total_price: i64::from(quantity) * 18_000,
        delivery_address: address.into(),
    };
    let change = |previous: shared_events::OrderVersion, current: shared_events::OrderVersion| {
        Envelope::new(
            "order",
            shared_events::OrderChanged {
                order_id,
                customer_id: placed.customer_id.clone(),
                store_id: placed.store_id,
                change_id: Uuid::now_v7(),
                price_difference: current.total_price - previous.total_price,
                previous,
                current,
            },
        )
    };
    let first = change(at(1, 2, "Seoul"), at(2, 3, "Busan"));
    let second = change(at(2, 3, "Busan"), at(3, 1, "Busan"));
    events.insert(1, first);
    events.insert(2, second);
    events
}

#[test]
fn a_changed_order_shows_its_last_version_and_the_earlier_ones_in_any_arrival_order() {
    let events = changed_path(Uuid::new_v4());
    let expected = fold(&events);
    assert_eq!(expected.version, 3);
    assert_eq!(expected.total_price, Some(18_000));
    assert_eq!(expected.items[0].quantity, 1);
    assert_eq!(expected.delivery_address.as_deref(), Some("Busan"));
    let previous: Vec<(u32, i64, &str)> = expected
        .previous_versions
        .iter()
        .map(|v| (v.version, v.total_price, v.delivery_address.as_str()))
        .collect();
    assert_eq!(previous, [(1, 36_000, "Seoul"), (2, 54_000, "Busan")]);
    for ordering in orderings(&events) {
        assert_eq!(fold(&ordering), expected);
    }
    // Popular menus count what was ordered first, whatever version is known when they move.
    let placed_items: Vec<_> = menu_items(&expected).into_keys().collect();
    assert_eq!(placed_items, [expected.items[0].menu_item_id]);
}
