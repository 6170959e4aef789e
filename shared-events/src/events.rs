//! Event payloads. Ids are UUIDs except user ids, which are the identity provider's subject
//! strings; money is an integer number of won.
//!
//! Events that reach a customer carry `customer_id`, so that consumers such as notification and
//! mypage never need to look it up in another service's data.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Topic;

/// Declares the `Event` enum, with each type's topic and the payload field that keys it.
/// One line per event keeps the list of events, their topics and their keys in one place.
macro_rules! events {
    ($($name:ident => $topic:ident by $key:ident),* $(,)?) => {
        /// Every domain event of the system. On the wire: `{"type": "<Name>", "data": {..}}`
        /// inside the [`Envelope`](crate::Envelope).
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "type", content = "data")]
        pub enum Event {
            $($name($name),)*
        }

        impl Event {
            /// The names of every known event type.
            pub const TYPES: &'static [&'static str] = &[$(stringify!($name)),*];

            /// The event's type name, as in the envelope's `type` field.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $(Event::$name(_) => stringify!($name),)*
                }
            }

            /// The topic this event is published on.
            pub fn topic(&self) -> Topic {
                match self {
                    $(Event::$name(_) => Topic::$topic,)*
                }
            }

            /// The partition key: the order id (the correlation key), or the store id for
            /// catalog events (a store and its menu). All events of one order stay in order on
            /// one partition.
            pub fn key(&self) -> Uuid {
                match self {
                    $(Event::$name(e) => e.$key,)*
                }
            }

            /// The order this event belongs to; `None` for catalog events.
            pub fn order_id(&self) -> Option<Uuid> {
                match self {
                    $(Event::$name(e) => events!(@order_id $key e),)*
                }
            }
        }

        #[cfg(feature = "schema")]
        impl Event {
            /// Every event type as the contracts describe it: its topic, the payload field that
            /// keys it, and its payload's schema, at the version this build writes.
            pub fn schemas() -> Vec<crate::schema::EventSchema> {
                vec![$(crate::schema::EventSchema {
                    name: stringify!($name),
                    version: crate::versions::current_version(stringify!($name)),
                    topic: Topic::$topic,
                    key_field: events!(@wire_name $key),
                    payload: |generator| generator.subschema_for::<$name>(),
                },)*]
            }
        }

        $(
            impl From<$name> for Event {
                fn from(e: $name) -> Self {
                    Event::$name(e)
                }
            }
        )*
    };
    (@wire_name order_id) => { "orderId" };
    (@wire_name store_id) => { "storeId" };
    (@order_id order_id $e:ident) => { Some($e.order_id) };
    (@order_id store_id $e:ident) => {{
        let _ = $e;
        None
    }};
}

events! {
    OrderPlaced => Order by order_id,
    OrderCanceled => Order by order_id,
    OrderChanged => Order by order_id,
    OrderChangeAbandoned => Order by order_id,
    DeliveryRequested => Order by order_id,
    PaymentApproved => Payment by order_id,
    PaymentCanceled => Payment by order_id,
    PaymentAdjusted => Payment by order_id,
    StoreRegistered => Store by store_id,
    MenuItemRegistered => Store by store_id,
    MenuItemChanged => Store by store_id,
    MenuItemRemoved => Store by store_id,
    StoreOrderAccepted => Store by order_id,
    StoreOrderRejected => Store by order_id,
    CookingStarted => Store by order_id,
    CookingFinished => Store by order_id,
    DeliveryStarted => Delivery by order_id,
    DeliveryCompleted => Delivery by order_id,
    DeliveryCanceled => Delivery by order_id,
    DeliveryAccidentReported => Delivery by order_id,
    ReviewPosted => Review by store_id,
    ReviewEdited => Review by store_id,
    StoreRatingChanged => Review by store_id,
}

/// One line of an order, priced by the order service from its menu replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = OrderItem))]
pub struct OrderLine {
    pub menu_item_id: Uuid,
    pub name: String,
    pub quantity: u32,
    pub unit_price: i64,
}

/// Why an order was canceled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// The customer canceled it.
    Customer,
    /// The store rejected it.
    StoreRejected,
    /// The delivery had an accident.
    DeliveryAccident,
    /// The payment answer came too late: the customer was told the order failed, so a payment
    /// approved meanwhile must be refunded.
    PaymentFailed,
}

impl CancelReason {
    pub const ALL: [CancelReason; 4] = [
        CancelReason::Customer,
        CancelReason::StoreRejected,
        CancelReason::DeliveryAccident,
        CancelReason::PaymentFailed,
    ];

    /// The reason named `s` (as written by [`as_str`](Self::as_str)).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CancelReason::Customer => "customer",
            CancelReason::StoreRejected => "store_rejected",
            CancelReason::DeliveryAccident => "delivery_accident",
            CancelReason::PaymentFailed => "payment_failed",
        }
    }
}

/// A paid order became valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OrderPlaced {
    pub order_id: Uuid,
    pub customer_id: String,
    pub store_id: Uuid,
    pub items: Vec<OrderLine>,
    pub total_price: i64,
    pub delivery_address: String,
    pub payment_id: Uuid,
}

/// An order was canceled; final everywhere. Triggers the refund and the cancellation of the
/// store order and of the delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OrderCanceled {
    pub order_id: Uuid,
    pub customer_id: String,
    pub store_id: Uuid,
    pub reason: CancelReason,
}

/// What an order holds at one version: its lines, its price and where it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderVersion {
    /// 1 for the order as placed, one more for each change.
    pub version: u32,
    pub items: Vec<OrderLine>,
    pub total_price: i64,
    pub delivery_address: String,
}

/// The customer changed an order before its cooking started (its lines, its delivery address,
/// or both). Final like the order's other decisions: the store's order follows it, even if the
/// kitchen started meanwhile. A higher price was charged before the change was made (a top-up
/// payment keyed by `change_id`); a lower one is refunded by the payment service on this event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OrderChanged {
    pub order_id: Uuid,
    pub customer_id: String,
    pub store_id: Uuid,
    /// The change's id: the idempotency key of its top-up payment, if it cost more.
    pub change_id: Uuid,
    /// The order after the change.
    pub current: OrderVersion,
    /// The order before it.
    pub previous: OrderVersion,
    /// `current.totalPrice - previous.totalPrice`: charged if positive, refunded if negative.
    pub price_difference: i64,
}

/// A change that was not made after its top-up may have been charged: the order's cooking
/// started, or it was canceled or changed by another request, while the payment answered, or
/// the payment did not answer. The payment service refunds the top-up keyed by `change_id`, or
/// refuses it if it arrives later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OrderChangeAbandoned {
    pub order_id: Uuid,
    pub customer_id: String,
    pub change_id: Uuid,
}

/// The order service hands a cooked order over to delivery. It is published only by the order
/// service, only when it moves the order to Cooked, so never for an order it has canceled, and
/// after it no cancellation is accepted. Being on the order topic, keyed by the order, it is
/// read after any `OrderCanceled` of the same order: a delivery never starts for a canceled
/// order, whatever the order in which the store's and the order service's events arrive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRequested {
    pub order_id: Uuid,
    pub customer_id: String,
    pub store_id: Uuid,
    pub delivery_address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PaymentApproved {
    pub payment_id: Uuid,
    pub order_id: Uuid,
    pub customer_id: String,
    pub amount: i64,
}

/// A payment was refunded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PaymentCanceled {
    pub payment_id: Uuid,
    pub order_id: Uuid,
    pub customer_id: String,
    /// What the customer gets back: the payment, plus the top-ups of the order's changes, less
    /// what their refunds already gave back (the payment's amount for an order never changed).
    pub amount: i64,
}

/// Money moved for an order after its payment: a change's top-up was charged (`amount` > 0), or
/// part of the order was refunded (`amount` < 0: a change that made it cheaper, or a top-up
/// given back because its change was not made).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PaymentAdjusted {
    pub order_id: Uuid,
    pub customer_id: String,
    /// The change it settles.
    pub change_id: Uuid,
    /// Won: charged if positive, refunded if negative.
    pub amount: i64,
}

/// A store was opened, by its owner. The one event naming a store's owner: consumers that
/// address the owner (notification) learn it here, since the order events carry the store id
/// only. Published once per store, in the transaction that creates it (and once, at the store
/// service's start-up, for a store created before the event existed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StoreRegistered {
    pub store_id: Uuid,
    /// The owner's user id (the identity provider's subject).
    pub owner_id: String,
    pub name: String,
}

/// A menu item was added to a store's menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MenuItemRegistered {
    pub store_id: Uuid,
    pub menu_item_id: Uuid,
    pub name: String,
    pub price: i64,
    pub available: bool,
}

/// A menu item's name, price or availability changed; carries the whole new state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MenuItemChanged {
    pub store_id: Uuid,
    pub menu_item_id: Uuid,
    pub name: String,
    pub price: i64,
    pub available: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct MenuItemRemoved {
    pub store_id: Uuid,
    pub menu_item_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StoreOrderAccepted {
    pub order_id: Uuid,
    pub store_id: Uuid,
    pub customer_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StoreOrderRejected {
    pub order_id: Uuid,
    pub store_id: Uuid,
    pub customer_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CookingStarted {
    pub order_id: Uuid,
    pub store_id: Uuid,
    pub customer_id: String,
}

/// The food is ready. The order service moves the order to Cooked and, unless it canceled the
/// order first, asks for its delivery ([`DeliveryRequested`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CookingFinished {
    pub order_id: Uuid,
    pub store_id: Uuid,
    pub customer_id: String,
    pub delivery_address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryStarted {
    pub delivery_id: Uuid,
    pub order_id: Uuid,
    pub customer_id: String,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryCompleted {
    pub delivery_id: Uuid,
    pub order_id: Uuid,
    pub customer_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryCanceled {
    pub delivery_id: Uuid,
    pub order_id: Uuid,
    pub customer_id: String,
}

/// Something went wrong on the road; the order is canceled and refunded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryAccidentReported {
    pub delivery_id: Uuid,
    pub order_id: Uuid,
    pub customer_id: String,
    pub reason: String,
}

/// A customer reviewed a delivered order (once per order). On the review topic, keyed by the
/// store, so that a store's reviews and ratings stay in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReviewPosted {
    pub review_id: Uuid,
    pub store_id: Uuid,
    /// The order reviewed (in the payload only: keyed by its store, the envelope names no order).
    pub order_id: Uuid,
    pub customer_id: String,
    /// 1 to 5.
    pub rating: u8,
    pub text: String,
}

/// The author changed a review's rating or text, within the edit window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReviewEdited {
    pub review_id: Uuid,
    pub store_id: Uuid,
    pub customer_id: String,
    /// 1 to 5.
    pub rating: u8,
    pub text: String,
}

/// A store's rating after a review was posted or edited: how many reviews it has and their
/// average rating, in hundredths (a store rated 4, 5 and 5 has 467).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StoreRatingChanged {
    pub store_id: Uuid,
    pub review_count: u32,
    /// The average rating × 100, rounded half up (100 to 500).
    pub average_rating: u32,
}
