//! What a store's owner is told about the orders of their store, and what notification must know
//! to find that owner. No I/O here.
//!
//! Order events carry the store's id, not its owner, and a delivery's accident not even the
//! store: the owner is found through two facts learned from events, the store of each order
//! ([`Fact::OrderStore`], from `OrderPlaced` and `OrderCanceled`) and the owner of each store
//! ([`Fact::StoreOwner`], from `StoreRegistered`). Events of different topics arrive in any
//! order, so a message for an owner may be written before they are known: it is addressed once
//! both facts are in.

use shared_events::{CancelReason, Event};
use uuid::Uuid;

use super::{Locale, Message, Recipient, won};

/// Something an event says about who owns what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact<'a> {
    /// `store_id` is owned by `owner_id`.
    StoreOwner {
        store_id: Uuid,
        owner_id: &'a str,
        name: &'a str,
    },
    /// `order_id` was placed with `store_id`.
    OrderStore { order_id: Uuid, store_id: Uuid },
}

/// What `event` teaches about owners, if anything.
pub fn learn(event: &Event) -> Option<Fact<'_>> {
    match event {
        Event::StoreRegistered(e) => Some(Fact::StoreOwner {
            store_id: e.store_id,
            owner_id: &e.owner_id,
            name: &e.name,
        }),
        Event::OrderPlaced(e) => Some(Fact::OrderStore {
            order_id: e.order_id,
            store_id: e.store_id,
        }),
        Event::OrderCanceled(e) => Some(Fact::OrderStore {
            order_id: e.order_id,
            store_id: e.store_id,
        }),
        Event::OrderChanged(e) => Some(Fact::OrderStore {
            order_id: e.order_id,
            store_id: e.store_id,
        }),
        _ => None,
    }
}

/// The message for the owner of the order's store, or `None` when the owner does not hear of
/// `event`: a new order, its change, its cancellation (for any reason, named) and an accident on
/// its way.
pub fn compose(event: &Event, locale: Locale) -> Option<Message> {
    let ko = locale == Locale::Ko;
    let pick = |k: String, e: String| if ko { k } else { e };
    let (customer_id, order_id, text) = match event {
        Event::OrderPlaced(e) => (
            &e.customer_id,
            e.order_id,
            pick(
                format!("새 주문이 들어왔습니다. 주문 금액 {}원", won(e.total_price)),
                format!("A new order came in: {} won.", won(e.total_price)),
            ),
        ),
        Event::OrderCanceled(e) => (
            &e.customer_id,
            e.order_id,
            pick(
                format!("주문이 취소되었습니다. 사유: {}", reason(e.reason, locale)),
                format!("An order was canceled: {}.", reason(e.reason, locale)),
            ),
        ),
        Event::OrderChanged(e) => (
            &e.customer_id,
            e.order_id,
            pick(
                format!(
                    "주문이 변경되었습니다. {}개 품목, {}원, 배달지 {}",
                    e.current.items.len(),
                    won(e.current.total_price),
                    e.current.delivery_address
                ),
                format!(
                    "An order was changed: {} line(s), {} won, to {}.",
                    e.current.items.len(),
                    won(e.current.total_price),
                    e.current.delivery_address
                ),
            ),
        ),
        Event::DeliveryAccidentReported(e) => (
            &e.customer_id,
            e.order_id,
            pick(
                format!("배달 중 사고가 났습니다. 사유: {}", e.reason),
                format!("An order had an accident on its way: {}.", e.reason),
            ),
        ),
        _ => return None,
    };
    Some(Message {
        recipient: Recipient::Owner,
        customer_id: customer_id.clone(),
        order_id,
        text,
    })
}

/// Why an order was canceled, as its store's owner reads it.
fn reason(reason: CancelReason, locale: Locale) -> &'static str {
    match (reason, locale) {
        (CancelReason::Customer, Locale::Ko) => "고객 요청",
        (CancelReason::StoreRejected, Locale::Ko) => "가게에서 거절",
        (CancelReason::DeliveryAccident, Locale::Ko) => "배달 사고",
        (CancelReason::PaymentFailed, Locale::Ko) => "결제 확인 지연",
        (CancelReason::Customer, Locale::En) => "the customer canceled it",
        (CancelReason::StoreRejected, Locale::En) => "the store rejected it",
        (CancelReason::DeliveryAccident, Locale::En) => "a delivery accident",
        (CancelReason::PaymentFailed, Locale::En) => "the payment could not be confirmed in time",
    }
}
