#![allow(clippy::unwrap_used)]

use shared_events::{
    CancelReason, DeliveryCompleted, MenuItemRemoved, OrderCanceled, OrderLine, OrderPlaced,
    PaymentCanceled,
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
