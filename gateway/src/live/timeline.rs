//! What a live stream sends, decided from successive readings of the order's view: pure, so
//! that resuming, ordering and the end of a stream are tested without servers.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

/// The order as mypage's read model has it (`GET /mypage/orders/{id}`), the fields a stream
/// reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct View {
    #[serde(flatten)]
    pub status: Status,
    #[serde(default)]
    pub history: Vec<Entry>,
}

/// The order's status and each side's: one `status` message each time any of them changes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub order_status: Option<String>,
    pub payment_status: Option<String>,
    pub store_status: Option<String>,
    pub delivery_status: Option<String>,
    pub cancel_reason: Option<String>,
}

impl Status {
    /// Whether the order can change no more (a refund or a delivery's cancellation may still
    /// follow a cancellation: the stream waits a little before it ends).
    pub fn is_final(&self) -> bool {
        matches!(self.order_status.as_deref(), Some("Delivered" | "Canceled"))
    }
}

/// One event of the order, as the view records it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub event_id: String,
    pub event_type: String,
    pub occurred_at: String,
}

/// A domain event as the stream sends it: with the topic it came on and the service that
/// published it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainEvent {
    pub event_id: String,
    pub event_type: String,
    pub topic: &'static str,
    pub producer: &'static str,
    pub occurred_at: String,
}

/// Each event type of an order's life and the topic it comes on; each topic has one producer,
/// the service it is named after. The gateway does not depend on the events' crate (it knows
/// services by URL only): a test holds this table to it.
pub const EVENTS: &[(&str, &str)] = &[
    ("OrderPlaced", "fooddelivery.order"),
    ("OrderCanceled", "fooddelivery.order"),
    ("OrderChanged", "fooddelivery.order"),
    ("OrderChangeAbandoned", "fooddelivery.order"),
    ("DeliveryRequested", "fooddelivery.order"),
    ("PaymentApproved", "fooddelivery.payment"),
    ("PaymentCanceled", "fooddelivery.payment"),
    ("PaymentAdjusted", "fooddelivery.payment"),
    ("StoreOrderAccepted", "fooddelivery.store"),
    ("StoreOrderRejected", "fooddelivery.store"),
    ("CookingStarted", "fooddelivery.store"),
    ("CookingFinished", "fooddelivery.store"),
    ("DeliveryStarted", "fooddelivery.delivery"),
    ("DeliveryCompleted", "fooddelivery.delivery"),
    ("DeliveryCanceled", "fooddelivery.delivery"),
    ("DeliveryAccidentReported", "fooddelivery.delivery"),
];

impl DomainEvent {
    pub fn of(entry: &Entry) -> Self {
        let topic = EVENTS
            .iter()
            .find(|(name, _)| *name == entry.event_type)
            .map_or("unknown", |(_, topic)| *topic);
        Self {
            event_id: entry.event_id.clone(),
            event_type: entry.event_type.clone(),
            topic,
            producer: topic.strip_prefix("fooddelivery.").unwrap_or(topic),
            occurred_at: entry.occurred_at.clone(),
        }
    }
}

/// What to send after one reading.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Update {
    pub events: Vec<DomainEvent>,
    pub status: Option<Status>,
}

/// What a stream has sent so far.
#[derive(Debug, Default)]
pub struct Timeline {
    sent: HashSet<String>,
    status: Option<Status>,
    /// The client's `Last-Event-ID`, until the first reading that holds it.
    resume_after: Option<String>,
}

impl Timeline {
    /// A stream that resumes after `last_event_id` (a reconnecting client's `Last-Event-ID`):
    /// the events up to it in the view's order are not sent again.
    pub fn resuming(last_event_id: Option<String>) -> Self {
        Self {
            resume_after: last_event_id.filter(|id| !id.is_empty()),
            ..Self::default()
        }
    }

    /// The events not sent yet, in the view's order (by time), then the status if it changed.
    /// The status always goes once at the start, so a client that reconnects redraws it.
    pub fn update(&mut self, view: &View) -> Update {
        if let Some(last) = self.resume_after.take() {
            // Not in the view (another order's id, or one this view lost): all are sent.
            if let Some(at) = view.history.iter().position(|e| e.event_id == last) {
                self.sent
                    .extend(view.history[..=at].iter().map(|e| e.event_id.clone()));
            }
        }
        let events: Vec<DomainEvent> = view
            .history
            .iter()
            .filter(|e| self.sent.insert(e.event_id.clone()))
            .map(DomainEvent::of)
            .collect();
        let status = (self.status.as_ref() != Some(&view.status)).then(|| view.status.clone());
        if status.is_some() {
            self.status = Some(view.status.clone());
        }
        Update { events, status }
    }
}

#[cfg(test)]
#[path = "timeline_tests.rs"]
mod tests;
