#![allow(clippy::unwrap_used)]

use shared_events::{
    CancelReason, DeliveryAccidentReported, DeliveryCompleted, MenuItemRemoved, OrderCanceled,
    OrderLine, OrderPlaced, PaymentCanceled, StoreOrderAccepted, StoreRegistered,
};
use uuid::Uuid;

use super::*;

fn placed() -> Event {
    Event::OrderPlaced(OrderPlaced {
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
    })
}

#[test]
fn a_placed_order_is_announced_in_korean_by_default_wording() {
    let message = compose(&placed(), Locale::Ko).unwrap();
    assert_eq!(message.customer_id, "alice");
    assert_eq!(message.text, "주문이 접수되었습니다. 결제 금액 36,000원");
}

#[test]
fn english_messages_read_naturally() {
    let message = compose(&placed(), Locale::En).unwrap();
    assert_eq!(message.text, "Your order was placed. You paid 36,000 won.");
}

#[test]
fn cancellations_and_refunds_name_their_reason_and_amount() {
    let order_id = Uuid::new_v4();
    let canceled = Event::OrderCanceled(OrderCanceled {
        order_id,
        customer_id: "bob".into(),
        store_id: Uuid::new_v4(),
        reason: CancelReason::DeliveryAccident,
    });
    let refunded = Event::PaymentCanceled(PaymentCanceled {
        payment_id: Uuid::new_v4(),
        order_id,
        customer_id: "bob".into(),
        amount: 1_234_567,
    });
    assert_eq!(
        compose(&canceled, Locale::Ko).unwrap().text,
        "주문이 취소되었습니다. 사유: 배달 사고"
    );
    assert_eq!(
        compose(&refunded, Locale::En).unwrap().text,
        "Your payment was refunded: 1,234,567 won."
    );
}

#[test]
fn delivery_completion_reaches_the_customer() {
    let event = Event::DeliveryCompleted(DeliveryCompleted {
        delivery_id: Uuid::new_v4(),
        order_id: Uuid::new_v4(),
        customer_id: "carol".into(),
    });
    assert_eq!(compose(&event, Locale::En).unwrap().customer_id, "carol");
}

#[test]
fn catalog_events_are_not_notifications() {
    let event = Event::MenuItemRemoved(MenuItemRemoved {
        store_id: Uuid::new_v4(),
        menu_item_id: Uuid::new_v4(),
    });
    assert_eq!(compose(&event, Locale::Ko), None);
}

#[test]
fn amounts_get_thousands_separators() {
    assert_eq!(won(0), "0");
    assert_eq!(won(999), "999");
    assert_eq!(won(1000), "1,000");
    assert_eq!(won(18_000), "18,000");
    assert_eq!(won(-1_000_000), "-1,000,000");
}

#[test]
fn statuses_are_stored_by_their_names() {
    for (status, name) in [
        (NotificationStatus::Pending, "Pending"),
        (NotificationStatus::Sent, "Sent"),
        (NotificationStatus::Failed, "Failed"),
    ] {
        assert_eq!(status.as_str(), name);
        assert_eq!(status.to_string(), name);
        assert_eq!(name.parse::<NotificationStatus>(), Ok(status));
    }
    assert!("sent".parse::<NotificationStatus>().is_err());
}

fn canceled(reason: CancelReason) -> Event {
    Event::OrderCanceled(OrderCanceled {
        order_id: Uuid::new_v4(),
        customer_id: "alice".into(),
        store_id: Uuid::new_v4(),
        reason,
    })
}

fn accident() -> Event {
    Event::DeliveryAccidentReported(DeliveryAccidentReported {
        delivery_id: Uuid::new_v4(),
        order_id: Uuid::new_v4(),
        customer_id: "alice".into(),
        reason: "scooter crash".into(),
    })
}

#[test]
fn the_owner_hears_of_a_new_order_its_cancellation_and_an_accident_and_nothing_else() {
    let to_owner = |event: &Event| owner::compose(event, Locale::En).is_some();
    assert!(to_owner(&placed()));
    assert!(to_owner(&canceled(CancelReason::Customer)));
    assert!(to_owner(&accident()));
    let accepted = Event::StoreOrderAccepted(StoreOrderAccepted {
        order_id: Uuid::new_v4(),
        store_id: Uuid::new_v4(),
        customer_id: "alice".into(),
    });
    let refunded = Event::PaymentCanceled(PaymentCanceled {
        payment_id: Uuid::new_v4(),
        order_id: Uuid::new_v4(),
        customer_id: "alice".into(),
        amount: 1000,
    });
    for event in [accepted, refunded] {
        assert!(!to_owner(&event), "{event:?}");
    }
}

#[test]
fn an_event_makes_one_message_per_recipient_that_hears_of_it() {
    let recipients = |event: &Event| -> Vec<Recipient> {
        messages(event, Locale::Ko)
            .iter()
            .map(|m| m.recipient)
            .collect()
    };
    assert_eq!(
        recipients(&placed()),
        [Recipient::Customer, Recipient::Owner]
    );
    assert_eq!(recipients(&accident()), [Recipient::Owner]);
    let delivered = Event::DeliveryCompleted(DeliveryCompleted {
        delivery_id: Uuid::new_v4(),
        order_id: Uuid::new_v4(),
        customer_id: "carol".into(),
    });
    assert_eq!(recipients(&delivered), [Recipient::Customer]);
    let owner_message = owner::compose(&accident(), Locale::Ko).unwrap();
    assert_eq!(
        owner_message.customer_id, "alice",
        "an owner's message says whose order it is"
    );
}

#[test]
fn owner_messages_read_naturally_in_both_languages() {
    let text = |event: &Event, locale| owner::compose(event, locale).unwrap().text;
    assert_eq!(
        text(&placed(), Locale::Ko),
        "새 주문이 들어왔습니다. 주문 금액 36,000원"
    );
    assert_eq!(
        text(&placed(), Locale::En),
        "A new order came in: 36,000 won."
    );
    assert_eq!(
        text(&accident(), Locale::Ko),
        "배달 중 사고가 났습니다. 사유: scooter crash"
    );
    assert_eq!(
        text(&accident(), Locale::En),
        "An order had an accident on its way: scooter crash."
    );
}

#[test]
fn an_owner_is_told_why_an_order_was_canceled_whatever_the_reason() {
    let expected = [
        (
            CancelReason::Customer,
            "고객 요청",
            "the customer canceled it",
        ),
        (
            CancelReason::StoreRejected,
            "가게에서 거절",
            "the store rejected it",
        ),
        (
            CancelReason::DeliveryAccident,
            "배달 사고",
            "a delivery accident",
        ),
        (
            CancelReason::PaymentFailed,
            "결제 확인 지연",
            "the payment could not be confirmed in time",
        ),
    ];
    assert_eq!(expected.len(), CancelReason::ALL.len());
    for (reason, ko, en) in expected {
        let event = canceled(reason);
        assert_eq!(
            owner::compose(&event, Locale::Ko).unwrap().text,
            format!("주문이 취소되었습니다. 사유: {ko}")
        );
        assert_eq!(
            owner::compose(&event, Locale::En).unwrap().text,
            format!("An order was canceled: {en}.")
        );
    }
}

#[test]
fn owners_are_learned_from_store_registered_and_stores_from_the_orders_events() {
    let store_id = Uuid::new_v4();
    let registered = Event::StoreRegistered(StoreRegistered {
        store_id,
        owner_id: "olivia".into(),
        name: "Chicken House".into(),
    });
    assert_eq!(
        owner::learn(&registered),
        Some(owner::Fact::StoreOwner {
            store_id,
            owner_id: "olivia",
            name: "Chicken House",
        })
    );
    let Event::OrderCanceled(cancel) = canceled(CancelReason::Customer) else {
        unreachable!()
    };
    assert_eq!(
        owner::learn(&Event::OrderCanceled(cancel.clone())),
        Some(owner::Fact::OrderStore {
            order_id: cancel.order_id,
            store_id: cancel.store_id,
        })
    );
    assert!(matches!(
        owner::learn(&placed()),
        Some(owner::Fact::OrderStore { .. })
    ));
    assert_eq!(
        owner::learn(&accident()),
        None,
        "an accident names no store"
    );
    assert!(
        messages(&registered, Locale::Ko).is_empty(),
        "a new store is nobody's notification"
    );
}

#[test]
fn recipients_are_stored_by_their_names() {
    for (recipient, name) in [
        (Recipient::Customer, "Customer"),
        (Recipient::Owner, "Owner"),
    ] {
        assert_eq!(recipient.as_str(), name);
        assert_eq!(name.parse::<Recipient>(), Ok(recipient));
    }
}
