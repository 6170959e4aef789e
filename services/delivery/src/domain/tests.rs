use proptest::prelude::*;

use super::*;

fn requested() -> DeliveryRequested {
    DeliveryRequested {
        order_id: Uuid::new_v4(),
        customer_id: "alice".into(),
        store_id: Uuid::new_v4(),
        delivery_address: "Seoul".into(),
    }
}

fn started() -> Delivery {
    on_delivery_requested(None, false, &requested(), Utc::now())
        .unwrap()
        .0
}

#[test]
fn a_requested_delivery_starts_to_the_orders_address_once() {
    let event = requested();
    let (delivery, started) = on_delivery_requested(None, false, &event, Utc::now()).unwrap();
    assert_eq!(delivery.status, DeliveryStatus::Started);
    assert_eq!(
        (started.address.as_str(), started.customer_id.as_str()),
        ("Seoul", "alice")
    );
    assert!(on_delivery_requested(Some(&delivery), false, &event, Utc::now()).is_none());
}

#[test]
fn a_canceled_order_never_starts_a_delivery() {
    assert!(on_delivery_requested(None, true, &requested(), Utc::now()).is_none());
}

#[test]
fn a_finished_delivery_refuses_further_actions() {
    let mut delivery = started();
    delivery.act(Action::Complete, Utc::now()).unwrap();
    let error = delivery.act(
        Action::ReportAccident(Reason::parse("crash").unwrap()),
        Utc::now(),
    );
    assert_eq!(error.unwrap_err().from, DeliveryStatus::Completed);
    assert!(on_order_canceled(Some(delivery), Utc::now()).is_none());
}

#[test]
fn an_accident_fails_the_delivery_with_its_reason() {
    let mut delivery = started();
    let event = delivery
        .act(
            Action::ReportAccident(Reason::parse(" scooter crash ").unwrap()),
            Utc::now(),
        )
        .unwrap();
    assert_eq!(delivery.status, DeliveryStatus::Failed);
    let Event::DeliveryAccidentReported(reported) = event else {
        panic!("wrong event")
    };
    assert_eq!(reported.reason, "scooter crash");
}

#[derive(Debug, Clone)]
enum Input {
    DeliveryRequested,
    OrderCanceled,
    Complete,
    Accident,
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        Just(Input::DeliveryRequested),
        Just(Input::OrderCanceled),
        Just(Input::Complete),
        Just(Input::Accident),
    ]
}

proptest! {
    #[test]
    fn any_sequence_keeps_one_delivery_and_final_states_final(
        inputs in proptest::collection::vec(input(), 0..20)
    ) {
        let event = requested();
        let (mut delivery, mut canceled, mut started_events) = (None::<Delivery>, false, 0);
        for input in &inputs {
            let before = delivery.as_ref().map(|d| d.status);
            match input {
                Input::DeliveryRequested => {
                    if let Some((d, _)) = on_delivery_requested(delivery.as_ref(), canceled, &event, Utc::now()) {
                        delivery = Some(d);
                        started_events += 1;
                    }
                }
                Input::OrderCanceled => {
                    canceled = true;
                    if let Some((d, _)) = on_order_canceled(delivery.clone(), Utc::now()) {
                        delivery = Some(d);
                    }
                }
                Input::Complete | Input::Accident => {
                    if let Some(d) = delivery.as_mut() {
                        let action = match input {
                            Input::Complete => Action::Complete,
                            _ => Action::ReportAccident(Reason::parse("crash").unwrap()),
                        };
                        let _ = d.act(action, Utc::now());
                    }
                }
            }
            let after = delivery.as_ref().map(|d| d.status);
            if let Some(from) = before && from != DeliveryStatus::Started {
                prop_assert_eq!(after, before, "a final status moved");
            }
        }
        prop_assert!(started_events <= 1);
        let first_cancel = inputs.iter().position(|i| matches!(i, Input::OrderCanceled));
        let first_start = inputs.iter().position(|i| matches!(i, Input::DeliveryRequested));
        if let (Some(cancel), Some(start)) = (first_cancel, first_start) && cancel < start {
            prop_assert!(delivery.is_none(), "a delivery started after the cancellation");
        }
        if first_cancel.is_some() && let Some(d) = &delivery {
            prop_assert_ne!(d.status, DeliveryStatus::Started);
        }
    }
}

#[test]
fn statuses_keep_their_stored_names_and_read_back() {
    use strum::VariantArray;

    let names: Vec<&str> = DeliveryStatus::VARIANTS
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(names, ["Started", "Completed", "Canceled", "Failed"]);
    for &status in DeliveryStatus::VARIANTS {
        assert_eq!(status.as_str().parse(), Ok(status));
        assert_eq!(status.to_string(), status.as_str());
    }
}
