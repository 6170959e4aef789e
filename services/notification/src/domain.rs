//! What a customer is told, and in which words. No I/O here: an event goes in, a message (or
//! nothing, for events a customer does not care about) comes out. What a store's owner is told,
//! and how the owner is found, is [`owner`].

use std::str::FromStr;

use chrono::{DateTime, Utc};
use shared_events::{CancelReason, Event};
use uuid::Uuid;

pub mod owner;

/// The language of the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    Ko,
    En,
}

impl FromStr for Locale {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ko" => Ok(Locale::Ko),
            "en" => Ok(Locale::En),
            other => Err(format!("unknown locale {other:?} (expected ko or en)")),
        }
    }
}

/// Who a notification is for: the order's customer, or the owner of the order's store. An event
/// makes at most one notification for each. Stored by its variant's name.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::EnumString, strum::IntoStaticStr,
)]
pub enum Recipient {
    Customer,
    Owner,
}

impl Recipient {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A message about one order, for its customer or for its store's owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub recipient: Recipient,
    /// The order's customer (also on a message for the owner: whose order it is).
    pub customer_id: String,
    pub order_id: Uuid,
    pub text: String,
}

/// Who asks for notifications, and so which ones they see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader<'a> {
    /// A customer's own.
    Customer(&'a str),
    /// Those for the owner of the stores `owner_id` owns.
    Owner(&'a str),
    /// Everyone's that has a recipient (an admin).
    Everyone,
}

/// Where a notification is in its life: written, delivered, or not (yet) delivered. Stored by
/// its variant's name.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::EnumString, strum::IntoStaticStr,
)]
pub enum NotificationStatus {
    Pending,
    Sent,
    Failed,
}

impl NotificationStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A notification as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: Uuid,
    pub event_id: Uuid,
    pub recipient: Recipient,
    /// The order's customer: the recipient of a customer's notification.
    pub customer_id: String,
    /// The store's owner, the recipient of an owner's notification, once known (`None` until
    /// then, and for a customer's).
    pub owner_id: Option<String>,
    pub order_id: Uuid,
    pub event_type: String,
    pub message: String,
    pub channel: String,
    pub status: NotificationStatus,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// Every message `event` makes: one for the customer, one for the store's owner, either, both or
/// none.
pub fn messages(event: &Event, locale: Locale) -> Vec<Message> {
    compose(event, locale)
        .into_iter()
        .chain(owner::compose(event, locale))
        .collect()
}

/// The message for the customer of `event`'s order, or `None` when the event is not a status
/// change the customer hears about.
pub fn compose(event: &Event, locale: Locale) -> Option<Message> {
    let ko = locale == Locale::Ko;
    let pick = |k: String, e: String| if ko { k } else { e };
    let (customer_id, order_id, text) = match event {
        Event::OrderPlaced(e) => (
            &e.customer_id,
            e.order_id,
            pick(
                format!("주문이 접수되었습니다. 결제 금액 {}원", won(e.total_price)),
                format!(
                    "Your order was placed. You paid {} won.",
                    won(e.total_price)
                ),
            ),
        ),
        Event::StoreOrderAccepted(e) => (
            &e.customer_id,
            e.order_id,
            pick(
                "가게에서 주문을 수락했습니다.".into(),
                "The store accepted your order.".into(),
            ),
        ),
        Event::StoreOrderRejected(e) => (
            &e.customer_id,
            e.order_id,
            pick(
                format!("가게에서 주문을 거절했습니다. 사유: {}", e.reason),
                format!("The store rejected your order: {}.", e.reason),
            ),
        ),
        Event::CookingStarted(e) => (
            &e.customer_id,
            e.order_id,
            pick(
                "조리를 시작했습니다.".into(),
                "Your food is being cooked.".into(),
            ),
        ),
        Event::CookingFinished(e) => (
            &e.customer_id,
            e.order_id,
            pick(
                "조리가 끝났습니다. 곧 배달이 시작됩니다.".into(),
                "Your food is ready and will be on its way soon.".into(),
            ),
        ),
        Event::DeliveryStarted(e) => (
            &e.customer_id,
            e.order_id,
            pick(
                "배달이 시작되었습니다.".into(),
                "Your order is out for delivery.".into(),
            ),
        ),
        Event::DeliveryCompleted(e) => (
            &e.customer_id,
            e.order_id,
            pick(
                "배달이 완료되었습니다. 맛있게 드세요!".into(),
                "Your order was delivered. Enjoy your meal!".into(),
            ),
        ),
        Event::OrderCanceled(e) => (
            &e.customer_id,
            e.order_id,
            pick(
                format!("주문이 취소되었습니다. 사유: {}", reason(e.reason, locale)),
                format!("Your order was canceled: {}.", reason(e.reason, locale)),
            ),
        ),
        Event::OrderChanged(e) => (
            &e.customer_id,
            e.order_id,
            pick(
                format!(
                    "주문이 변경되었습니다. 주문 금액 {}원 (변경 전 {}원)",
                    won(e.current.total_price),
                    won(e.previous.total_price)
                ),
                format!(
                    "Your order was changed: it comes to {} won now (was {} won).",
                    won(e.current.total_price),
                    won(e.previous.total_price)
                ),
            ),
        ),
        Event::PaymentAdjusted(e) if e.amount > 0 => (
            &e.customer_id,
            e.order_id,
            pick(
                format!("주문 변경으로 {}원이 추가 결제되었습니다.", won(e.amount)),
                format!(
                    "You paid {} won more for your order's change.",
                    won(e.amount)
                ),
            ),
        ),
        Event::PaymentAdjusted(e) => (
            &e.customer_id,
            e.order_id,
            pick(
                format!("주문 변경으로 {}원이 환불되었습니다.", won(-e.amount)),
                format!(
                    "{} won was refunded for your order's change.",
                    won(-e.amount)
                ),
            ),
        ),
        Event::PaymentCanceled(e) => (
            &e.customer_id,
            e.order_id,
            pick(
                format!("결제가 취소되어 {}원이 환불되었습니다.", won(e.amount)),
                format!("Your payment was refunded: {} won.", won(e.amount)),
            ),
        ),
        _ => return None,
    };
    Some(Message {
        recipient: Recipient::Customer,
        customer_id: customer_id.clone(),
        order_id,
        text,
    })
}

fn reason(reason: CancelReason, locale: Locale) -> &'static str {
    match (reason, locale) {
        (CancelReason::Customer, Locale::Ko) => "고객 요청",
        (CancelReason::StoreRejected, Locale::Ko) => "가게 사정",
        (CancelReason::DeliveryAccident, Locale::Ko) => "배달 사고",
        (CancelReason::PaymentFailed, Locale::Ko) => "결제 확인 지연",
        (CancelReason::Customer, Locale::En) => "you asked for it",
        (CancelReason::StoreRejected, Locale::En) => "the store could not take it",
        (CancelReason::DeliveryAccident, Locale::En) => "a delivery accident",
        (CancelReason::PaymentFailed, Locale::En) => "the payment could not be confirmed in time",
    }
}

/// `36000` → `36,000`.
fn won(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if amount < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests;
