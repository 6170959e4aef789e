use proptest::prelude::*;
use shared_events::{
    CookingFinished, CookingStarted, DeliveryAccidentReported, DeliveryCompleted, DeliveryStarted,
    StoreOrderAccepted, StoreOrderRejected,
};

use strum::VariantArray;

use super::*;

fn order(status: OrderStatus) -> Order {
    Order {
        id: Uuid::new_v4(),
        customer_id: "alice".into(),
        store_id: Uuid::new_v4(),
        items: vec![],
        total_price: 18_000,
        delivery_address: "Seoul".into(),
        status,
        cancel_reason: None,
        payment_id: None,
        version: 1,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

fn store_events(o: &Order, rejected: bool) -> Vec<Event> {
    let (order_id, store_id, customer_id) = (o.id, o.store_id, o.customer_id.clone());
    if rejected {
        return vec![Event::StoreOrderRejected(StoreOrderRejected {
            order_id,
            store_id,
            customer_id,
            reason: "sold out".into(),
        })];
    }
    vec![
        Event::StoreOrderAccepted(StoreOrderAccepted {
            order_id,
            store_id,
            customer_id: customer_id.clone(),
        }),
        Event::CookingStarted(CookingStarted {
            order_id,
            store_id,
            customer_id: customer_id.clone(),
        }),
        Event::CookingFinished(CookingFinished {
            order_id,
            store_id,
            customer_id,
            delivery_address: "Seoul".into(),
        }),
    ]
}

fn delivery_events(o: &Order, accident: bool) -> Vec<Event> {
    let (order_id, customer_id, delivery_id) = (o.id, o.customer_id.clone(), Uuid::new_v4());
    let started = Event::DeliveryStarted(DeliveryStarted {
        delivery_id,
        order_id,
        customer_id: customer_id.clone(),
        address: "Seoul".into(),
    });
    let end = if accident {
        Event::DeliveryAccidentReported(DeliveryAccidentReported {
            delivery_id,
            order_id,
            customer_id,
            reason: "scooter crash".into(),
        })
    } else {
        Event::DeliveryCompleted(DeliveryCompleted {
            delivery_id,
            order_id,
            customer_id,
        })
    };
    vec![started, end]
}

/// Runs `events` through the decisions; returns the final order and everything published.
fn replay(mut order: Order, events: &[Event]) -> (Order, Vec<Event>) {
    let mut published = Vec::new();
    for event in events {
        if let Some(change) = order.on_event(event) {
            order.apply(&change);
            published.extend(change.publish);
        }
    }
    (order, published)
}

/// Merges two topics' sequences, keeping each one's order, picking by `picks`, then repeats
/// the events at `duplicates` (a redelivery comes after the original).
fn interleave(a: &[Event], b: &[Event], picks: &[bool], duplicates: &[usize]) -> Vec<Event> {
    let (mut i, mut j, mut merged) = (0, 0, Vec::new());
    for &from_a in picks.iter().chain(std::iter::repeat(&true)) {
        if i == a.len() && j == b.len() {
            break;
        }
        if (from_a && i < a.len()) || j == b.len() {
            merged.push(a[i].clone());
            i += 1;
        } else {
            merged.push(b[j].clone());
            j += 1;
        }
    }
    for &d in duplicates {
        let at = d % merged.len();
        let copy = merged[at].clone();
        let after = at + 1 + d % (merged.len() - at);
        merged.insert(after, copy);
    }
    merged
}

fn count(published: &[Event], type_name: &str) -> usize {
    published
        .iter()
        .filter(|e| e.type_name() == type_name)
        .count()
}

#[test]
fn the_happy_path_ends_delivered_having_asked_for_the_delivery_once() {
    let o = order(OrderStatus::Placed);
    let events: Vec<_> = store_events(&o, false)
        .into_iter()
        .chain(delivery_events(&o, false))
        .collect();
    let (end, published) = replay(o.clone(), &events);
    assert_eq!(end.status, OrderStatus::Delivered);
    let [Event::DeliveryRequested(requested)] = published.as_slice() else {
        panic!("expected one DeliveryRequested, got {published:?}");
    };
    assert_eq!(requested.order_id, o.id);
    assert_eq!(requested.delivery_address, o.delivery_address);
}

#[test]
fn cooking_finished_after_a_cancel_asks_for_no_delivery() {
    // The customer's cancel won the race with the store's "cooking finished".
    let placed = order(OrderStatus::Accepted);
    let mut canceled = placed.clone();
    canceled.apply(&placed.cancel_by_customer().unwrap());

    let (end, published) = replay(canceled, &store_events(&placed, false));

    assert_eq!(end.status, OrderStatus::Canceled);
    assert!(published.is_empty(), "{published:?}");
}

#[test]
fn a_customer_cancels_while_placed_or_accepted_and_not_after_cooking_started() {
    for status in [OrderStatus::Placed, OrderStatus::Accepted] {
        let change = order(status).cancel_by_customer().unwrap();
        assert_eq!(change.status, OrderStatus::Canceled);
        assert!(
            matches!(change.publish, Some(Event::OrderCanceled(ref c)) if c.reason == CancelReason::Customer)
        );
    }
    for status in [
        OrderStatus::Cooking,
        OrderStatus::Cooked,
        OrderStatus::Delivered,
        OrderStatus::Canceled,
        OrderStatus::PaymentPending,
    ] {
        assert_eq!(order(status).cancel_by_customer().unwrap_err().from, status);
    }
}

#[test]
fn a_late_event_never_moves_the_status_backwards() {
    let o = order(OrderStatus::Cooked);
    let late = &store_events(&o, false)[0];
    assert_eq!(o.on_event(late), None);
}

#[test]
fn events_do_not_revive_a_canceled_order() {
    let o = order(OrderStatus::Canceled);
    for event in store_events(&o, false)
        .iter()
        .chain(&delivery_events(&o, true))
    {
        assert_eq!(o.on_event(event), None);
    }
}

#[test]
fn a_payment_that_did_not_answer_fails_the_order_and_asks_for_a_refund() {
    let change = order(OrderStatus::PaymentPending).fail_payment().unwrap();
    assert_eq!(change.status, OrderStatus::PaymentFailed);
    assert!(
        matches!(change.publish, Some(Event::OrderCanceled(ref c)) if c.reason == CancelReason::PaymentFailed)
    );
    assert!(order(OrderStatus::Placed).fail_payment().is_err());
}

#[test]
fn statuses_round_trip_through_their_names() {
    for &status in OrderStatus::VARIANTS {
        assert_eq!(status.as_str().parse(), Ok(status));
    }
}

proptest! {
    /// Any interleaving of the store's and the delivery's events, with duplicates, ends where
    /// the canonical order ends, publishes at most one cancellation and one request for
    /// delivery, and never the request after the cancellation.
    #[test]
    fn any_interleaving_with_duplicates_converges(
        rejected in any::<bool>(),
        accident in any::<bool>(),
        picks in proptest::collection::vec(any::<bool>(), 0..8),
        duplicates in proptest::collection::vec(0usize..20, 0..4),
    ) {
        let start = order(OrderStatus::Placed);
        let store = store_events(&start, rejected);
        let delivery = if rejected { vec![] } else { delivery_events(&start, accident) };
        let canonical: Vec<_> = store.iter().chain(&delivery).cloned().collect();
        let shuffled = interleave(&store, &delivery, &picks, &duplicates);

        let (expected, expected_published) = replay(start.clone(), &canonical);
        let (actual, published) = replay(start, &shuffled);

        prop_assert_eq!(actual.status, expected.status);
        prop_assert_eq!(actual.cancel_reason, expected.cancel_reason);
        let canceled = count(&published, "OrderCanceled");
        prop_assert_eq!(canceled, count(&expected_published, "OrderCanceled"));
        prop_assert!(canceled <= 1);
        prop_assert!(count(&published, "DeliveryRequested") <= 1);
        // Never a delivery asked for after the order was canceled.
        if let Some(at) = published.iter().position(|e| e.type_name() == "OrderCanceled") {
            prop_assert_eq!(count(&published[at..], "DeliveryRequested"), 0);
        }
    }
}

fn contents(total_price: i64, address: &str) -> Contents {
    Contents {
        items: vec![OrderLine {
            menu_item_id: Uuid::from_u128(7),
            name: "Cola".into(),
            quantity: 1,
            unit_price: total_price,
        }],
        total_price,
        delivery_address: address.into(),
    }
}

#[test]
fn a_change_is_a_new_version_announced_with_the_one_before_and_the_difference() {
    let placed = order(OrderStatus::Placed);
    let change_id = Uuid::now_v7();
    let changed = placed
        .change(1, contents(20_000, "Busan"), change_id)
        .unwrap()
        .expect("a change");
    assert_eq!(changed.change_id, change_id);
    assert_eq!(changed.previous, placed.current_version());
    assert_eq!(changed.current.version, 2);
    assert_eq!(changed.price_difference, 2_000);

    let mut after = placed.clone();
    after.apply_change(&changed);
    assert_eq!(after.version, 2);
    assert_eq!(after.total_price, 20_000);
    assert_eq!(after.delivery_address, "Busan");
    assert_eq!(after.status, OrderStatus::Placed);
    // Made from version 1 again: stale.
    assert_eq!(
        after.change(1, contents(15_000, "Seoul"), Uuid::now_v7()),
        Err(ChangeRefusal::Stale {
            expected: 1,
            current: 2
        })
    );
    let cheaper = after.change(2, contents(15_000, "Busan"), Uuid::now_v7());
    assert_eq!(cheaper.unwrap().unwrap().price_difference, -5_000);
}

#[test]
fn changing_an_order_to_what_it_is_announces_nothing() {
    let placed = order(OrderStatus::Placed);
    let same = Contents {
        items: placed.items.clone(),
        total_price: placed.total_price,
        delivery_address: placed.delivery_address.clone(),
    };
    assert_eq!(placed.change(1, same, Uuid::now_v7()), Ok(None));
}

#[test]
fn only_a_placed_or_accepted_order_can_be_changed_whatever_version_is_named() {
    for &status in OrderStatus::VARIANTS {
        let result = order(status).change(7, contents(1_000, "Busan"), Uuid::now_v7());
        match status {
            // At the wrong version, but changeable: stale.
            OrderStatus::Placed | OrderStatus::Accepted => {
                assert!(
                    matches!(result, Err(ChangeRefusal::Stale { .. })),
                    "{status}"
                )
            }
            _ => assert!(
                matches!(result, Err(ChangeRefusal::Transition(_))),
                "{status}: {result:?}"
            ),
        }
    }
}

#[test]
fn a_given_up_change_names_its_change_for_the_refund() {
    let placed = order(OrderStatus::Accepted);
    let change_id = Uuid::now_v7();
    let Event::OrderChangeAbandoned(abandoned) = placed.change_abandoned(change_id) else {
        panic!("not an abandonment");
    };
    assert_eq!(
        (abandoned.order_id, abandoned.change_id),
        (placed.id, change_id)
    );
}
