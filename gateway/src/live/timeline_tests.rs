use super::*;

fn entry(id: &str, event_type: &str) -> Entry {
    Entry {
        event_id: id.to_owned(),
        event_type: event_type.to_owned(),
        occurred_at: format!("2026-12-05T10:00:0{id}Z"),
    }
}

fn view(order_status: &str, history: &[(&str, &str)]) -> View {
    View {
        status: Status {
            order_status: Some(order_status.to_owned()),
            payment_status: Some("Approved".to_owned()),
            store_status: None,
            delivery_status: None,
            cancel_reason: None,
        },
        history: history.iter().map(|(id, t)| entry(id, t)).collect(),
    }
}

fn ids(update: &Update) -> Vec<&str> {
    update.events.iter().map(|e| e.event_id.as_str()).collect()
}

#[test]
fn each_event_and_each_status_change_is_sent_once() {
    let mut timeline = Timeline::resuming(None);
    let first = timeline.update(&view(
        "Placed",
        &[("1", "OrderPlaced"), ("2", "PaymentApproved")],
    ));
    assert_eq!(ids(&first), ["1", "2"]);
    assert_eq!(
        first.status.unwrap().order_status.as_deref(),
        Some("Placed")
    );

    let same = timeline.update(&view(
        "Placed",
        &[("1", "OrderPlaced"), ("2", "PaymentApproved")],
    ));
    assert_eq!(same, Update::default());

    let next = timeline.update(&view(
        "Accepted",
        &[
            ("1", "OrderPlaced"),
            ("2", "PaymentApproved"),
            ("3", "StoreOrderAccepted"),
        ],
    ));
    assert_eq!(ids(&next), ["3"]);
    assert_eq!(
        next.status.unwrap().order_status.as_deref(),
        Some("Accepted")
    );
}

#[test]
fn an_event_the_view_places_before_others_already_sent_is_still_sent() {
    let mut timeline = Timeline::resuming(None);
    timeline.update(&view(
        "Placed",
        &[("1", "OrderPlaced"), ("3", "StoreOrderAccepted")],
    ));
    let late = timeline.update(&view(
        "Accepted",
        &[
            ("1", "OrderPlaced"),
            ("2", "PaymentApproved"),
            ("3", "StoreOrderAccepted"),
        ],
    ));
    assert_eq!(ids(&late), ["2"]);
}

#[test]
fn a_reconnecting_client_gets_the_events_after_its_last_event_id_and_the_status() {
    let history = [
        ("1", "OrderPlaced"),
        ("2", "PaymentApproved"),
        ("3", "StoreOrderAccepted"),
    ];
    let mut timeline = Timeline::resuming(Some("2".to_owned()));
    let update = timeline.update(&view("Accepted", &history));
    assert_eq!(ids(&update), ["3"]);
    assert!(
        update.status.is_some(),
        "the status is redrawn after a reconnect"
    );
}

#[test]
fn an_unknown_last_event_id_sends_the_whole_timeline() {
    let mut timeline = Timeline::resuming(Some("elsewhere".to_owned()));
    let update = timeline.update(&view(
        "Placed",
        &[("1", "OrderPlaced"), ("2", "PaymentApproved")],
    ));
    assert_eq!(ids(&update), ["1", "2"]);
}

#[test]
fn each_event_names_its_topic_and_producer() {
    let event = DomainEvent::of(&entry("1", "CookingStarted"));
    assert_eq!(
        (event.topic, event.producer),
        ("fooddelivery.store", "store")
    );
    let unknown = DomainEvent::of(&entry("2", "SomethingNew"));
    assert_eq!((unknown.topic, unknown.producer), ("unknown", "unknown"));
}

#[test]
fn the_table_names_every_event_of_an_order_with_its_topic() {
    for schema in shared_events::Event::schemas() {
        if schema.key_field != "orderId" {
            continue;
        }
        let topic = EVENTS
            .iter()
            .find(|(name, _)| *name == schema.name)
            .map(|(_, topic)| *topic);
        assert_eq!(
            topic,
            Some(schema.topic.base_name()),
            "{} in the live stream's table",
            schema.name
        );
    }
}

#[test]
fn only_delivered_and_canceled_are_final() {
    assert!(view("Delivered", &[]).status.is_final());
    assert!(view("Canceled", &[]).status.is_final());
    assert!(!view("Cooking", &[]).status.is_final());
}
