//! The order's life: `PaymentPending` until the payment answers, then `Placed → Accepted →
//! Cooking → Cooked → Delivering → Delivered`, or `Canceled` (final), or one of the two states of
//! an order that never became valid (`PaymentDeclined`, `PaymentFailed`).
//!
//! Reactions to events are decisions `(order, event) → Option<Change>`: status never moves
//! backwards, a canceled or delivered order stays so, and a cancellation decided here is
//! announced with `OrderCanceled` exactly once. Reaching Cooked hands the order to delivery with
//! `DeliveryRequested`, also exactly once, and never for a canceled order.
//!
//! Until its cooking starts (while Placed or Accepted, as this service last heard), the customer
//! may change an order's lines or address: each change is a new `version` of its contents,
//! announced with `OrderChanged`, and asked for at the version the customer last read, so that
//! two changes made from one reading cannot both pass.

use chrono::{DateTime, Utc};
use shared_events::{
    CancelReason, DeliveryRequested, Event, OrderCanceled, OrderChangeAbandoned, OrderChanged,
    OrderLine, OrderPlaced, OrderVersion,
};
use uuid::Uuid;

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
pub enum OrderStatus {
    PaymentPending,
    PaymentDeclined,
    PaymentFailed,
    Placed,
    Accepted,
    Cooking,
    Cooked,
    Delivering,
    Delivered,
    Canceled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Position on the happy path of a valid order; `None` for the others.
    fn progress(self) -> Option<u8> {
        match self {
            OrderStatus::Placed => Some(1),
            OrderStatus::Accepted => Some(2),
            OrderStatus::Cooking => Some(3),
            OrderStatus::Cooked => Some(4),
            OrderStatus::Delivering => Some(5),
            OrderStatus::Delivered => Some(6),
            _ => None,
        }
    }

    /// A valid order that is still under way (can move on, or be canceled by events).
    pub fn is_in_progress(self) -> bool {
        self.progress().is_some() && self != OrderStatus::Delivered
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: Uuid,
    pub customer_id: String,
    pub store_id: Uuid,
    pub items: Vec<OrderLine>,
    pub total_price: i64,
    pub delivery_address: String,
    pub status: OrderStatus,
    pub cancel_reason: Option<CancelReason>,
    pub payment_id: Option<Uuid>,
    /// The version of its contents (lines, price, address): 1 as placed, one more per change.
    pub version: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a change would make of an order's contents, priced by the caller from the menu replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contents {
    pub items: Vec<OrderLine>,
    pub total_price: i64,
    pub delivery_address: String,
}

/// Why an order cannot be changed as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeRefusal {
    /// The order moved on (its cooking started, it was canceled, …).
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The caller read an earlier version: another change came first.
    #[error("order is at version {current}, not {expected}: read it again")]
    Stale { expected: u32, current: u32 },
}

/// What a decision changes: the new status, and the event to publish with it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub status: OrderStatus,
    pub cancel_reason: Option<CancelReason>,
    pub publish: Option<Event>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an order that is {from} cannot be {action}")]
pub struct TransitionError {
    pub from: OrderStatus,
    pub action: &'static str,
}

impl Order {
    /// The payment was approved: the order becomes valid and is announced.
    pub fn place(&self, payment_id: Uuid) -> Result<Change, TransitionError> {
        self.require(OrderStatus::PaymentPending, "placed")?;
        Ok(Change {
            status: OrderStatus::Placed,
            cancel_reason: None,
            publish: Some(Event::OrderPlaced(OrderPlaced {
                order_id: self.id,
                customer_id: self.customer_id.clone(),
                store_id: self.store_id,
                items: self.items.clone(),
                total_price: self.total_price,
                delivery_address: self.delivery_address.clone(),
                payment_id,
            })),
        })
    }

    pub fn decline(&self) -> Result<Change, TransitionError> {
        self.require(OrderStatus::PaymentPending, "declined")?;
        Ok(Change {
            status: OrderStatus::PaymentDeclined,
            cancel_reason: None,
            publish: None,
        })
    }

    /// The payment did not answer in time. The customer is told the order failed, and a
    /// cancellation goes out so that a payment approved meanwhile is refunded.
    pub fn fail_payment(&self) -> Result<Change, TransitionError> {
        self.require(OrderStatus::PaymentPending, "failed")?;
        Ok(Change {
            status: OrderStatus::PaymentFailed,
            cancel_reason: Some(CancelReason::PaymentFailed),
            publish: Some(self.canceled_event(CancelReason::PaymentFailed)),
        })
    }

    /// The customer cancels: allowed while the order is Placed or Accepted.
    pub fn cancel_by_customer(&self) -> Result<Change, TransitionError> {
        match self.status {
            OrderStatus::Placed | OrderStatus::Accepted => Ok(self.cancel(CancelReason::Customer)),
            from => Err(TransitionError {
                from,
                action: "canceled",
            }),
        }
    }

    /// Whether the customer, who last read the order at version `expected`, may change it now:
    /// while it is Placed or Accepted, and still at that version.
    pub fn check_change(&self, expected: u32) -> Result<(), ChangeRefusal> {
        if !matches!(self.status, OrderStatus::Placed | OrderStatus::Accepted) {
            return Err(TransitionError {
                from: self.status,
                action: "changed",
            }
            .into());
        }
        if self.version != expected {
            return Err(ChangeRefusal::Stale {
                expected,
                current: self.version,
            });
        }
        Ok(())
    }

    /// The change to `contents` of the order read at version `expected`, as its event; `None`
    /// when the contents are the order's already (nothing to do, nothing to announce).
    pub fn change(
        &self,
        expected: u32,
        contents: Contents,
        change_id: Uuid,
    ) -> Result<Option<OrderChanged>, ChangeRefusal> {
        self.check_change(expected)?;
        let previous = self.current_version();
        if contents.items == previous.items
            && contents.delivery_address == previous.delivery_address
        {
            return Ok(None);
        }
        Ok(Some(OrderChanged {
            order_id: self.id,
            customer_id: self.customer_id.clone(),
            store_id: self.store_id,
            change_id,
            price_difference: contents.total_price - previous.total_price,
            current: OrderVersion {
                version: self.version + 1,
                items: contents.items,
                total_price: contents.total_price,
                delivery_address: contents.delivery_address,
            },
            previous,
        }))
    }

    /// Applies a change decided by [`change`](Self::change).
    pub fn apply_change(&mut self, changed: &OrderChanged) {
        let current = &changed.current;
        self.version = current.version;
        self.items = current.items.clone();
        self.total_price = current.total_price;
        self.delivery_address = current.delivery_address.clone();
    }

    /// The contents as they are now.
    pub fn current_version(&self) -> OrderVersion {
        OrderVersion {
            version: self.version,
            items: self.items.clone(),
            total_price: self.total_price,
            delivery_address: self.delivery_address.clone(),
        }
    }

    /// A change whose top-up may have been charged was not made: the payment gives it back.
    pub fn change_abandoned(&self, change_id: Uuid) -> Event {
        Event::OrderChangeAbandoned(OrderChangeAbandoned {
            order_id: self.id,
            customer_id: self.customer_id.clone(),
            change_id,
        })
    }

    /// What `event` does to this order; `None` if nothing (unrelated, late, or duplicate).
    pub fn on_event(&self, event: &Event) -> Option<Change> {
        let advance_to = match event {
            Event::StoreOrderAccepted(_) => OrderStatus::Accepted,
            Event::CookingStarted(_) => OrderStatus::Cooking,
            Event::CookingFinished(_) => OrderStatus::Cooked,
            Event::DeliveryStarted(_) => OrderStatus::Delivering,
            Event::DeliveryCompleted(_) => OrderStatus::Delivered,
            Event::StoreOrderRejected(_) => {
                return self.cancel_if_in_progress(CancelReason::StoreRejected);
            }
            Event::DeliveryAccidentReported(_) => {
                return self.cancel_if_in_progress(CancelReason::DeliveryAccident);
            }
            _ => return None,
        };
        let (current, next) = (self.status.progress()?, advance_to.progress()?);
        // Cooked is where this service hands the order to delivery; a canceled order (no
        // progress) never gets there, and a cooked one can no longer be canceled.
        let publish = (advance_to == OrderStatus::Cooked).then(|| {
            Event::DeliveryRequested(DeliveryRequested {
                order_id: self.id,
                customer_id: self.customer_id.clone(),
                store_id: self.store_id,
                delivery_address: self.delivery_address.clone(),
            })
        });
        (next > current).then_some(Change {
            status: advance_to,
            cancel_reason: None,
            publish,
        })
    }

    fn cancel_if_in_progress(&self, reason: CancelReason) -> Option<Change> {
        self.status.is_in_progress().then(|| self.cancel(reason))
    }

    fn cancel(&self, reason: CancelReason) -> Change {
        Change {
            status: OrderStatus::Canceled,
            cancel_reason: Some(reason),
            publish: Some(self.canceled_event(reason)),
        }
    }

    fn canceled_event(&self, reason: CancelReason) -> Event {
        Event::OrderCanceled(OrderCanceled {
            order_id: self.id,
            customer_id: self.customer_id.clone(),
            store_id: self.store_id,
            reason,
        })
    }

    fn require(&self, status: OrderStatus, action: &'static str) -> Result<(), TransitionError> {
        if self.status == status {
            Ok(())
        } else {
            Err(TransitionError {
                from: self.status,
                action,
            })
        }
    }

    /// Applies a change decided by one of the methods above.
    pub fn apply(&mut self, change: &Change) {
        self.status = change.status;
        if change.cancel_reason.is_some() {
            self.cancel_reason = change.cancel_reason;
        }
        if let Some(Event::OrderPlaced(placed)) = &change.publish {
            self.payment_id = Some(placed.payment_id);
        }
    }
}

#[cfg(test)]
#[path = "order_tests.rs"]
mod tests;
