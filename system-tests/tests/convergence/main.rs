//! Convergence of the sagas across services, on their pure domain layers only (no I/O).
//!
//! Whatever the interleaving of one order's events across the four topics (each topic read in
//! order by each consumer), with redeliveries, and however the customer's cancel races the
//! owner's and the rider's actions, the services agree at the end: the order is Canceled ⇔ its
//! payment is Refunded ⇔ no delivery was completed; a canceled order's store order is Canceled
//! or Rejected; mypage shows what the services hold; no event is published twice. Without a
//! customer cancel (or when it was refused), the end is the same as with in-order delivery.
//! A change the customer makes at any moment (dearer or cheaper, or dying after its top-up) ends
//! with the customer having paid for the order's last version, the store's order and mypage
//! holding it.

#![allow(clippy::unwrap_used)]

mod scenario;
mod world;

use delivery_service::domain::DeliveryStatus;
use order_service::domain::OrderStatus;
use payment_service::domain::PaymentStatus;
use proptest::prelude::*;
use shared_events::{CancelReason, Event, Topic};
use store_service::domain::Status as StoreStatus;

use world::{CancelOutcome, Consumer, OwnerAction, RiderAction, World};

/// The statuses a run ends with, in every service and in mypage's view.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    order: OrderStatus,
    cancel_reason: Option<CancelReason>,
    payment: Option<PaymentStatus>,
    store: Option<StoreStatus>,
    delivery: Option<DeliveryStatus>,
    /// Mypage's order, payment, store and delivery statuses, and its cancel reason.
    view: [Option<String>; 5],
}

fn outcome(world: &World) -> Outcome {
    let name = |s: &dyn std::fmt::Debug| format!("{s:?}");
    let view = world.view.as_ref();
    Outcome {
        order: world.order.status,
        cancel_reason: world.order.cancel_reason,
        payment: world.ledger.payment.as_ref().map(|p| p.status),
        store: world.store_order.as_ref().map(|o| o.status),
        delivery: world.delivery.as_ref().map(|d| d.status),
        view: [
            view.and_then(|v| v.order_status).map(|s| name(&s)),
            view.and_then(|v| v.payment_status).map(|s| name(&s)),
            view.and_then(|v| v.store_status).map(|s| name(&s)),
            view.and_then(|v| v.delivery_status).map(|s| name(&s)),
            view.and_then(|v| v.cancel_reason.clone()),
        ],
    }
}

/// The agreement every run must end in, whatever the interleaving.
fn assert_agreement(world: &World) -> Result<(), TestCaseError> {
    prop_assert!(world.quiescent());
    // The same event twice (a top-up and the refund of another are two PaymentAdjusted).
    let events: Vec<&Event> = world.published().map(|e| &e.event).collect();
    for (i, event) in events.iter().enumerate() {
        prop_assert!(!events[..i].contains(event), "published twice: {:?}", event);
    }

    let end = outcome(world);
    // An order whose payment timed out never became valid: it ends PaymentFailed, announced
    // as canceled, and must be refunded all the same.
    let void = matches!(
        end.order,
        OrderStatus::Canceled | OrderStatus::PaymentFailed
    );
    prop_assert!(
        void || end.order == OrderStatus::Delivered,
        "unfinished: {:?}",
        end
    );
    prop_assert_eq!(
        void,
        end.payment == Some(PaymentStatus::Refunded),
        "{:?}",
        end
    );
    prop_assert_eq!(
        void,
        end.delivery != Some(DeliveryStatus::Completed),
        "{:?}",
        end
    );
    match end.order {
        OrderStatus::Canceled => {
            prop_assert!(end.store.is_some_and(StoreStatus::is_final), "{:?}", end);
            prop_assert!(end.cancel_reason.is_some(), "{:?}", end);
        }
        OrderStatus::PaymentFailed => {
            prop_assert_eq!((end.store, end.delivery), (None, None), "{:?}", end);
        }
        _ => {
            prop_assert_eq!(end.payment, Some(PaymentStatus::Approved));
            prop_assert_eq!(end.store, Some(StoreStatus::Cooked));
        }
    }

    let [order, payment, store, delivery, reason] = end.view.clone();
    // Mypage shows an order that never became valid as canceled (with the reason).
    let shown = match end.order {
        OrderStatus::PaymentFailed => OrderStatus::Canceled,
        status => status,
    };
    prop_assert_eq!(order.as_deref(), Some(shown.as_str()), "{:?}", end);
    prop_assert_eq!(
        payment.as_deref(),
        end.payment.map(|s| s.as_str()),
        "{:?}",
        end
    );
    prop_assert_eq!(
        delivery.as_deref(),
        end.delivery.map(|s| s.as_str()),
        "{:?}",
        end
    );
    prop_assert_eq!(
        reason.as_deref(),
        end.cancel_reason.map(|r| r.as_str()),
        "{:?}",
        end
    );
    // The store publishes nothing when it cancels its order; mypage derives it from the
    // order's cancellation, and agrees with the store either way.
    prop_assert_eq!(store.as_deref(), end.store.map(|s| s.as_str()), "{:?}", end);

    // Changes: the customer paid for the order's last version (nothing if it is void), the
    // store's order holds that version unless the store rejected it first, and mypage shows it.
    let paid: i64 = world
        .published()
        .map(|e| match &e.event {
            Event::PaymentApproved(a) => a.amount,
            Event::PaymentAdjusted(a) => a.amount,
            Event::PaymentCanceled(c) => -c.amount,
            _ => 0,
        })
        .sum();
    let owed = if void { 0 } else { world.order.total_price };
    prop_assert_eq!(paid, owed, "{:?} at version {}", end, world.order.version);
    if let Some(store_order) = world.store_order.as_ref()
        && store_order.status != StoreStatus::Rejected
    {
        prop_assert_eq!(store_order.version, world.order.version, "{:?}", end);
        prop_assert_eq!(store_order.total_price, world.order.total_price);
    }
    if end.order != OrderStatus::PaymentFailed {
        let view = world.view.as_ref().unwrap();
        prop_assert_eq!(view.version, world.order.version, "{:?}", end);
        prop_assert_eq!(view.total_price, Some(world.order.total_price));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_interleaving_of_an_orders_events_converges(scenario in scenario::scenario()) {
        let world = scenario.run();
        assert_agreement(&world)?;
        match world.cancel {
            // The customer's cancel, once accepted, is final everywhere.
            CancelOutcome::Accepted => {
                prop_assert_eq!(world.order.cancel_reason, Some(CancelReason::Customer));
            }
            // Without a cancel, nothing depends on timing: the end is the in-order end.
            CancelOutcome::Refused | CancelOutcome::NotAsked => {
                prop_assert_eq!(outcome(&world), outcome(&scenario.canonical()));
            }
        }
    }
}

/// The race that used to end canceled, refunded *and* delivered: the order service accepts a
/// cancel while it still sees the order as Placed, though the store has already cooked it, and
/// a rider is waiting. Deliveries now start only when the order service asks for them, which it
/// does only when it moves the order to Cooked, never for an order it canceled: the store's
/// "cooking finished" reaches a canceled order and asks for nothing, so no delivery starts.
#[test]
fn a_cancel_the_rider_would_have_outrun_starts_no_delivery() {
    use OwnerAction::*;
    let owner = vec![Accept, StartCooking, FinishCooking];
    let mut world = World::new(owner, vec![RiderAction::Complete], false);
    world.deliver(Consumer::Store, world::topic_index(Topic::Order));
    for _ in 0..3 {
        assert!(world.owner_acts());
    }
    assert_eq!(world.order.status, OrderStatus::Placed);

    world.customer_cancels();
    assert!(!world.rider_acts(), "no delivery to ride");
    world.settle();

    assert_eq!(world.cancel, CancelOutcome::Accepted);
    let end = outcome(&world);
    assert_eq!(end.order, OrderStatus::Canceled);
    assert_eq!(end.payment, Some(PaymentStatus::Refunded));
    assert_eq!(end.delivery, None);
}
