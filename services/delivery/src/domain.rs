//! Deliveries and their rules, and the service's reactions to events as pure decisions:
//! (what it knows, the event) → (what it stores, what it publishes). No I/O here.
//!
//! Started → Completed (the rider delivered) | Failed (an accident) | Canceled (the order was
//! canceled). The last three are final.

use chrono::{DateTime, Utc};
use shared_events::{
    DeliveryAccidentReported, DeliveryCanceled, DeliveryCompleted, DeliveryRequested,
    DeliveryStarted, Event,
};
use uuid::Uuid;

pub const MAX_REASON_CHARS: usize = 200;

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
pub enum DeliveryStatus {
    Started,
    Completed,
    Canceled,
    Failed,
}

impl DeliveryStatus {
    /// The name stored and answered (the variant's).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What happened on the road: trimmed, 1 to [`MAX_REASON_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the reason must be 1 to {MAX_REASON_CHARS} characters")]
pub struct InvalidReason;

impl Reason {
    pub fn parse(raw: &str) -> Result<Self, InvalidReason> {
        shared_events::text::bounded(raw, MAX_REASON_CHARS)
            .map(|reason| Self(reason.to_owned()))
            .ok_or(InvalidReason)
    }
}

/// What a rider does with a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Complete,
    ReportAccident(Reason),
}

/// The transition is not allowed from the current status (a 409 at the HTTP edge).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a delivery that is {from} cannot be {action}")]
pub struct InvalidTransition {
    pub from: DeliveryStatus,
    pub action: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: Uuid,
    pub order_id: Uuid,
    pub customer_id: String,
    pub address: String,
    pub status: DeliveryStatus,
    pub accident_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Delivery {
    /// Applies a rider's action; the event to publish, or why it is not allowed now.
    pub fn act(&mut self, action: Action, now: DateTime<Utc>) -> Result<Event, InvalidTransition> {
        if self.status != DeliveryStatus::Started {
            let action = match action {
                Action::Complete => "completed",
                Action::ReportAccident(_) => "reported as an accident",
            };
            return Err(InvalidTransition {
                from: self.status,
                action,
            });
        }
        self.updated_at = now;
        let (delivery_id, order_id, customer_id) =
            (self.id, self.order_id, self.customer_id.clone());
        Ok(match action {
            Action::Complete => {
                self.status = DeliveryStatus::Completed;
                DeliveryCompleted {
                    delivery_id,
                    order_id,
                    customer_id,
                }
                .into()
            }
            Action::ReportAccident(Reason(reason)) => {
                self.status = DeliveryStatus::Failed;
                self.accident_reason = Some(reason.clone());
                DeliveryAccidentReported {
                    delivery_id,
                    order_id,
                    customer_id,
                    reason,
                }
                .into()
            }
        })
    }
}

/// The delivery to start for `requested`, with its `DeliveryStarted`; `None` if the order
/// already has one (a redelivered event) or was canceled. (The order service never asks for the
/// delivery of an order it canceled, and both events travel on the order's partition, so the
/// second case is only a safeguard for replayed history.)
pub fn on_delivery_requested(
    existing: Option<&Delivery>,
    order_canceled: bool,
    requested: &DeliveryRequested,
    now: DateTime<Utc>,
) -> Option<(Delivery, DeliveryStarted)> {
    if existing.is_some() || order_canceled {
        return None;
    }
    let delivery = Delivery {
        id: Uuid::now_v7(),
        order_id: requested.order_id,
        customer_id: requested.customer_id.clone(),
        address: requested.delivery_address.clone(),
        status: DeliveryStatus::Started,
        accident_reason: None,
        created_at: now,
        updated_at: now,
    };
    let started = DeliveryStarted {
        delivery_id: delivery.id,
        order_id: delivery.order_id,
        customer_id: delivery.customer_id.clone(),
        address: delivery.address.clone(),
    };
    Some((delivery, started))
}

/// The canceled delivery with its `DeliveryCanceled`, if the order has a delivery under way.
/// A completed or failed delivery stays as it is. (The cancellation itself is always
/// remembered, so that no delivery starts later.)
pub fn on_order_canceled(
    existing: Option<Delivery>,
    now: DateTime<Utc>,
) -> Option<(Delivery, DeliveryCanceled)> {
    let mut delivery = existing.filter(|d| d.status == DeliveryStatus::Started)?;
    delivery.status = DeliveryStatus::Canceled;
    delivery.updated_at = now;
    let canceled = DeliveryCanceled {
        delivery_id: delivery.id,
        order_id: delivery.order_id,
        customer_id: delivery.customer_id.clone(),
    };
    Some((delivery, canceled))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
