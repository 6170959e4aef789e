use proptest::prelude::*;
use shared_events::CancelReason;

use super::*;

fn placed() -> OrderPlaced {
    OrderPlaced {
        order_id: Uuid::new_v4(),
        customer_id: "alice".into(),
        store_id: Uuid::new_v4(),
        items: vec![OrderLine {
            menu_item_id: Uuid::new_v4(),
            name: "Fried chicken".into(),
            quantity: 2,
            unit_price: 18_000,
        }],
        total_price: 36_000,
        delivery_address: "Seoul".into(),
        payment_id: Uuid::new_v4(),
    }
}

fn canceled(placed: &OrderPlaced) -> OrderCanceled {
    OrderCanceled {
        order_id: placed.order_id,
        customer_id: placed.customer_id.clone(),
        store_id: placed.store_id,
        reason: CancelReason::Customer,
    }
}

fn received() -> StoreOrder {
    on_order_placed(None, None, &placed(), Utc::now()).unwrap()
}

/// The edges of the state machine; anything else is a bug.
fn allowed(from: Status, to: Status) -> bool {
    use Status::*;
    from == to
        || matches!(
            (from, to),
            (Received, Accepted | Rejected) | (Accepted, Cooking) | (Cooking, Cooked)
        )
        || (to == Canceled && !from.is_final())
}

#[test]
fn the_happy_path_publishes_each_step_and_cooking_finished_carries_the_address() {
    let mut order = received();
    let now = Utc::now();
    let types: Vec<_> = [Action::Accept, Action::StartCooking, Action::FinishCooking]
        .into_iter()
        .map(|a| order.act(a, now).unwrap())
        .collect();
    assert_eq!(order.status, Status::Cooked);
    let names: Vec<_> = types.iter().map(Event::type_name).collect();
    assert_eq!(
        names,
        ["StoreOrderAccepted", "CookingStarted", "CookingFinished"]
    );
    let Event::CookingFinished(finished) = &types[2] else {
        panic!("not CookingFinished")
    };
    assert_eq!(finished.delivery_address, "Seoul");
}

#[test]
fn cooking_before_accepting_is_an_invalid_transition() {
    let mut order = received();
    let error = order.act(Action::StartCooking, Utc::now()).unwrap_err();
    assert_eq!(error.from, Status::Received);
    assert_eq!(order.status, Status::Received);
}

#[test]
fn a_cancellation_while_cooking_cancels_and_blocks_the_owner() {
    let mut order = received();
    order.act(Action::Accept, Utc::now()).unwrap();
    order.act(Action::StartCooking, Utc::now()).unwrap();
    let event = canceled(&placed());
    let Cancellation::Cancel(mut order) = on_order_canceled(Some(order), &event, Utc::now()) else {
        panic!("not canceled")
    };
    assert_eq!(order.status, Status::Canceled);
    assert_eq!(order.reason.as_deref(), Some("customer"));
    assert!(order.act(Action::FinishCooking, Utc::now()).is_err());
}

#[test]
fn a_cancellation_before_the_order_is_remembered_and_the_order_is_born_canceled() {
    let placed = placed();
    let decision = on_order_canceled(None, &canceled(&placed), Utc::now());
    let Cancellation::Remember { reason } = decision else {
        panic!("not remembered")
    };
    let order = on_order_placed(None, Some(&reason), &placed, Utc::now()).unwrap();
    assert_eq!(order.status, Status::Canceled);
}

#[derive(Debug, Clone)]
enum Input {
    Placed,
    Canceled,
    Owner(Action),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        Just(Input::Placed),
        Just(Input::Canceled),
        Just(Input::Owner(Action::Accept)),
        Just(Input::Owner(Action::Reject(
            Reason::parse("sold out").unwrap()
        ))),
        Just(Input::Owner(Action::StartCooking)),
        Just(Input::Owner(Action::FinishCooking)),
    ]
}

/// What the store knows about one order.
#[derive(Debug, Clone, Default, PartialEq)]
struct Known {
    order: Option<StoreOrder>,
    tombstone: Option<String>,
}

fn apply(known: &mut Known, input: &Input, placed: &OrderPlaced) -> Option<Event> {
    let now = Utc::now();
    match input {
        Input::Placed => {
            if let Some(order) = on_order_placed(
                known.order.as_ref(),
                known.tombstone.as_deref(),
                placed,
                now,
            ) {
                known.order = Some(order);
            }
            None
        }
        Input::Canceled => {
            match on_order_canceled(known.order.clone(), &canceled(placed), now) {
                Cancellation::Remember { reason } => known.tombstone = Some(reason),
                Cancellation::Cancel(order) => known.order = Some(order),
                Cancellation::Nothing => {}
            }
            None
        }
        Input::Owner(action) => {
            let order = known.order.as_mut()?;
            let mut attempt = order.clone();
            let event = attempt.act(action.clone(), now).ok()?;
            *order = attempt;
            Some(event)
        }
    }
}

proptest! {
    #[test]
    fn no_sequence_of_events_and_actions_leaves_an_invalid_state(
        inputs in proptest::collection::vec(input(), 0..20)
    ) {
        let placed = placed();
        let mut known = Known::default();
        let mut canceled_seen = false;
        for input in &inputs {
            let before = known.order.as_ref().map(|o| o.status);
            let event = apply(&mut known, input, &placed);
            let after = known.order.as_ref().map(|o| o.status);
            if let (Some(from), Some(to)) = (before, after) {
                prop_assert!(allowed(from, to), "{from} -> {to} on {input:?}");
            }
            prop_assert_eq!(event.is_some(), matches!(input, Input::Owner(_)) && before != after);
            canceled_seen |= matches!(input, Input::Canceled);
            if canceled_seen && let Some(status) = after {
                prop_assert!(status.is_final(), "{status} after a cancellation");
            }
        }
    }

    #[test]
    fn a_duplicate_event_changes_nothing(
        inputs in proptest::collection::vec(input(), 0..12),
        duplicate_cancel in any::<bool>(),
    ) {
        let placed = placed();
        let mut known = Known::default();
        for input in &inputs {
            apply(&mut known, input, &placed);
        }
        let event = if duplicate_cancel { Input::Canceled } else { Input::Placed };
        apply(&mut known, &event, &placed);
        let once = known.clone();
        apply(&mut known, &event, &placed);
        prop_assert_eq!(known.order.map(|o| o.status), once.order.map(|o| o.status));
        prop_assert_eq!(known.tombstone, once.tombstone);
    }
}

#[test]
fn statuses_keep_their_stored_names_and_read_back() {
    use strum::VariantArray;

    let names: Vec<&str> = Status::VARIANTS.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        names,
        [
            "Received", "Accepted", "Rejected", "Cooking", "Cooked", "Canceled"
        ]
    );
    for &status in Status::VARIANTS {
        assert_eq!(status.as_str().parse(), Ok(status));
        assert_eq!(status.to_string(), status.as_str());
    }
}

fn changed(version: u32, quantity: u32) -> shared_events::OrderChanged {
    let placed = placed();
    let at = |version: u32, quantity: u32| shared_events::OrderVersion {
        version,
        items: vec![shared_events::OrderLine {
            quantity,
            ..placed.items[0].clone()
        }],
        total_price: i64::from(quantity) * placed.items[0].unit_price,
        delivery_address: "Busan".into(),
    };
    shared_events::OrderChanged {
        order_id: placed.order_id,
        customer_id: placed.customer_id.clone(),
        store_id: placed.store_id,
        change_id: Uuid::now_v7(),
        current: at(version, quantity),
        previous: at(version - 1, 1),
        price_difference: 0,
    }
}

#[test]
fn a_change_is_followed_even_while_cooking_once_and_never_backwards() {
    let mut cooking = received();
    cooking.act(Action::Accept, Utc::now()).unwrap();
    cooking.act(Action::StartCooking, Utc::now()).unwrap();
    let after = on_order_changed(Some(cooking.clone()), &changed(2, 3), Utc::now()).unwrap();
    assert_eq!((after.version, after.items[0].quantity), (2, 3));
    assert_eq!(after.delivery_address, "Busan");
    assert_eq!(after.status, Status::Cooking);
    // Read again, or an older change after a newer: nothing.
    assert_eq!(
        on_order_changed(Some(after.clone()), &changed(2, 3), Utc::now()),
        None
    );
    let newer = on_order_changed(Some(after), &changed(3, 5), Utc::now()).unwrap();
    assert_eq!(
        on_order_changed(Some(newer), &changed(2, 3), Utc::now()),
        None
    );
}

#[test]
fn a_change_leaves_a_rejected_or_canceled_store_order_or_a_missing_one_alone() {
    let mut rejected = received();
    let reason = Reason::parse("sold out").unwrap();
    rejected.act(Action::Reject(reason), Utc::now()).unwrap();
    assert_eq!(
        on_order_changed(Some(rejected), &changed(2, 3), Utc::now()),
        None
    );
    assert_eq!(on_order_changed(None, &changed(2, 3), Utc::now()), None);
}
