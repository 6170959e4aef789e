//! The store order's life as a state machine, and the store's reactions to order events as pure
//! decisions: (what the store knows, the event) → (what it stores, what it publishes).
//!
//! Received → Accepted | Rejected; Accepted → Cooking → Cooked. A cancellation the order service
//! accepted is final everywhere, so `OrderCanceled` cancels any store order that is not already
//! over (Rejected or Canceled), even while cooking.

use chrono::{DateTime, Utc};
use shared_events::{
    CookingFinished, CookingStarted, Event, OrderCanceled, OrderChanged, OrderLine, OrderPlaced,
    StoreOrderAccepted, StoreOrderRejected,
};
use uuid::Uuid;

use super::catalog::{InvalidInput, MAX_REASON_CHARS};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
pub enum Status {
    Received,
    Accepted,
    Rejected,
    Cooking,
    Cooked,
    Canceled,
}

impl Status {
    /// The name stored and answered (the variant's).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether the store order is over: nothing moves it any more.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Rejected | Status::Canceled)
    }
}

/// Why the owner rejects an order: trimmed, 1 to [`MAX_REASON_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        shared_events::text::bounded(raw, MAX_REASON_CHARS)
            .map(|reason| Self(reason.to_owned()))
            .ok_or(InvalidInput::Reason)
    }
}

/// What an owner does with a store order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Accept,
    Reject(Reason),
    StartCooking,
    FinishCooking,
}

impl Action {
    fn name(&self) -> &'static str {
        match self {
            Action::Accept => "accepted",
            Action::Reject(_) => "rejected",
            Action::StartCooking => "started cooking",
            Action::FinishCooking => "finished cooking",
        }
    }
}

/// The transition is not allowed from the current status (a 409 at the HTTP edge).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a store order that is {from} cannot be {action}")]
pub struct InvalidTransition {
    pub from: Status,
    pub action: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOrder {
    pub order_id: Uuid,
    pub store_id: Uuid,
    pub customer_id: String,
    pub items: Vec<OrderLine>,
    pub total_price: i64,
    pub delivery_address: String,
    pub status: Status,
    /// Why it was rejected or canceled.
    pub reason: Option<String>,
    /// The version of the order's lines, price and address held: 1 as placed, then the
    /// customer's changes.
    pub version: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl StoreOrder {
    /// Applies an owner's action; the event to publish, or why it is not allowed now.
    pub fn act(&mut self, action: Action, now: DateTime<Utc>) -> Result<Event, InvalidTransition> {
        let next = match (self.status, &action) {
            (Status::Received, Action::Accept) => Status::Accepted,
            (Status::Received, Action::Reject(_)) => Status::Rejected,
            (Status::Accepted, Action::StartCooking) => Status::Cooking,
            (Status::Cooking, Action::FinishCooking) => Status::Cooked,
            (from, action) => {
                return Err(InvalidTransition {
                    from,
                    action: action.name(),
                });
            }
        };
        self.status = next;
        self.updated_at = now;
        let (order_id, store_id, customer_id) =
            (self.order_id, self.store_id, self.customer_id.clone());
        Ok(match action {
            Action::Accept => StoreOrderAccepted {
                order_id,
                store_id,
                customer_id,
            }
            .into(),
            Action::Reject(Reason(reason)) => {
                self.reason = Some(reason.clone());
                StoreOrderRejected {
                    order_id,
                    store_id,
                    customer_id,
                    reason,
                }
                .into()
            }
            Action::StartCooking => CookingStarted {
                order_id,
                store_id,
                customer_id,
            }
            .into(),
            Action::FinishCooking => CookingFinished {
                order_id,
                store_id,
                customer_id,
                delivery_address: self.delivery_address.clone(),
            }
            .into(),
        })
    }

    /// Cancels it unless it is already over; `true` if it changed.
    fn cancel(&mut self, reason: &str, now: DateTime<Utc>) -> bool {
        if self.status.is_final() {
            return false;
        }
        self.status = Status::Canceled;
        self.reason = Some(reason.to_owned());
        self.updated_at = now;
        true
    }
}

/// The store order to create for `placed`, or `None` if it exists already (a redelivery or a
/// late duplicate never changes it). An order canceled before it was placed here (`tombstone`
/// holds the reason) is created already canceled, so the owner never cooks it.
pub fn on_order_placed(
    existing: Option<&StoreOrder>,
    tombstone: Option<&str>,
    placed: &OrderPlaced,
    now: DateTime<Utc>,
) -> Option<StoreOrder> {
    if existing.is_some() {
        return None;
    }
    let mut order = StoreOrder {
        order_id: placed.order_id,
        store_id: placed.store_id,
        customer_id: placed.customer_id.clone(),
        items: placed.items.clone(),
        total_price: placed.total_price,
        delivery_address: placed.delivery_address.clone(),
        status: Status::Received,
        reason: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    if let Some(reason) = tombstone {
        order.cancel(reason, now);
    }
    Some(order)
}

/// What `OrderChanged` does to the store order: it takes the new lines, price and address,
/// whatever its kitchen is doing, unless it is over (rejected or canceled) or holds this version
/// or a later one already. The order service accepted the change before it heard of any
/// cooking, so the kitchen follows it (the owner is notified). `None` when nothing changes.
pub fn on_order_changed(
    existing: Option<StoreOrder>,
    changed: &OrderChanged,
    now: DateTime<Utc>,
) -> Option<StoreOrder> {
    let mut order = existing?;
    let current = &changed.current;
    if matches!(order.status, Status::Rejected | Status::Canceled)
        || current.version <= order.version
    {
        return None;
    }
    order.items = current.items.clone();
    order.total_price = current.total_price;
    order.delivery_address = current.delivery_address.clone();
    order.version = current.version;
    order.updated_at = now;
    Some(order)
}

/// What `OrderCanceled` does to what the store knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancellation {
    /// No store order yet: remember the cancellation for when `OrderPlaced` arrives.
    Remember { reason: String },
    /// Save the store order, now canceled. The store publishes nothing: the order service
    /// already told everyone.
    Cancel(StoreOrder),
    /// Already over (rejected or canceled): nothing changes.
    Nothing,
}

pub fn on_order_canceled(
    existing: Option<StoreOrder>,
    canceled: &OrderCanceled,
    now: DateTime<Utc>,
) -> Cancellation {
    let reason = canceled.reason.as_str();
    match existing {
        None => Cancellation::Remember {
            reason: reason.to_owned(),
        },
        Some(mut order) => {
            if order.cancel(reason, now) {
                Cancellation::Cancel(order)
            } else {
                Cancellation::Nothing
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
