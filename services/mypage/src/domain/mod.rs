//! The order view and how events fold into it. No I/O here.
//!
//! [`merge`] is the whole projection: a pure function from (stored view, event) to the new view.
//! It ignores an event it has already seen (by event id), and statuses only move up their rank,
//! so duplicates and any arrival order across topics converge on the same document.

mod counting;
mod status;

pub use counting::{contribution, count_change, menu_items};

pub use status::{DeliveryStatus, OrderStatus, PaymentStatus, Ranked, StoreStatus};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared_events::{Envelope, Event, OrderLine, OrderVersion};
use uuid::Uuid;

/// One order as the customer sees it, built only from events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    pub order_id: Uuid,
    pub customer_id: Option<String>,
    pub store_id: Option<Uuid>,
    /// The lines and price of the latest version known.
    pub items: Vec<OrderLine>,
    pub total_price: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_address: Option<String>,
    /// The version of `items`, `totalPrice` and `deliveryAddress`: 1 as placed, one more per
    /// change (0 before the order's own events are known).
    #[serde(default)]
    pub version: u32,
    /// The versions before it, oldest first.
    #[serde(default)]
    pub previous_versions: Vec<OrderVersion>,
    pub order_status: Option<OrderStatus>,
    pub payment_status: Option<PaymentStatus>,
    pub store_status: Option<StoreStatus>,
    pub delivery_status: Option<DeliveryStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
    /// Sorted by time, then event id: the same set of events gives the same history.
    pub history: Vec<HistoryEntry>,
    /// The time of the latest event applied.
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub event_id: Uuid,
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
}

/// What an event did to a view.
// Returned by value and taken apart at once by the caller: boxing the view would cost an
// allocation per event for a size nobody stores.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merged {
    Changed(OrderView),
    /// Seen before: the view stays as it is.
    Duplicate,
    /// Not an event about an order's progress.
    Ignored,
}

impl OrderView {
    fn empty(order_id: Uuid, at: DateTime<Utc>) -> Self {
        Self {
            order_id,
            customer_id: None,
            store_id: None,
            items: Vec::new(),
            total_price: None,
            delivery_address: None,
            version: 0,
            previous_versions: Vec::new(),
            order_status: None,
            payment_status: None,
            store_status: None,
            delivery_status: None,
            cancel_reason: None,
            history: Vec::new(),
            updated_at: at,
        }
    }

    pub fn has_seen(&self, event_type: &str) -> bool {
        self.history.iter().any(|h| h.event_type == event_type)
    }

    /// Whether the order counts for the popular menus: placed, and not canceled.
    pub fn placed(&self) -> bool {
        self.has_seen("OrderPlaced")
    }

    pub fn canceled(&self) -> bool {
        self.has_seen("OrderCanceled")
    }
}

/// Folds `envelope` into `view` (absent if no event of the order was seen yet).
pub fn merge(view: Option<OrderView>, envelope: &Envelope) -> Merged {
    let Some(order_id) = envelope.event.order_id() else {
        return Merged::Ignored;
    };
    if !is_order_progress(&envelope.event) {
        return Merged::Ignored;
    }
    let mut view = view.unwrap_or_else(|| OrderView::empty(order_id, envelope.occurred_at));
    if view.history.iter().any(|h| h.event_id == envelope.id) {
        return Merged::Duplicate;
    }
    let entry = HistoryEntry {
        event_id: envelope.id,
        event_type: envelope.type_name().to_owned(),
        occurred_at: envelope.occurred_at,
    };
    let at = view
        .history
        .partition_point(|h| (h.occurred_at, h.event_id) < (entry.occurred_at, entry.event_id));
    view.history.insert(at, entry);
    view.updated_at = view.updated_at.max(envelope.occurred_at);
    apply(&mut view, &envelope.event);
    settle_store_status(&mut view);
    Merged::Changed(view)
}

/// The store publishes nothing when it cancels its order on `OrderCanceled`, so the view
/// derives it: a canceled order's store order is Canceled, unless the store rejected it. Applied
/// after every event, so the result does not depend on which of them came last.
fn settle_store_status(view: &mut OrderView) {
    if view.order_status == Some(OrderStatus::Canceled) && view.store_status.is_some() {
        raise(&mut view.store_status, StoreStatus::Canceled);
    }
}

fn is_order_progress(event: &Event) -> bool {
    !matches!(
        event,
        Event::StoreRegistered(_)
            | Event::MenuItemRegistered(_)
            | Event::MenuItemChanged(_)
            | Event::MenuItemRemoved(_)
    )
}

fn apply(view: &mut OrderView, event: &Event) {
    use OrderStatus as O;
    match event {
        Event::OrderPlaced(e) => {
            know(view, &e.customer_id, None);
            // The order's own facts are authoritative, whatever arrived first.
            view.store_id = Some(e.store_id);
            know_version(
                view,
                OrderVersion {
                    version: 1,
                    items: e.items.clone(),
                    total_price: e.total_price,
                    delivery_address: e.delivery_address.clone(),
                },
            );
            raise(&mut view.order_status, O::Placed);
            raise(&mut view.payment_status, PaymentStatus::Approved);
            raise(&mut view.store_status, StoreStatus::Received);
        }
        Event::OrderCanceled(e) => {
            know(view, &e.customer_id, Some(e.store_id));
            raise(&mut view.order_status, O::Canceled);
            // The order service's reason is the final word.
            view.cancel_reason = Some(e.reason.as_str().to_owned());
        }
        Event::OrderChanged(e) => {
            know(view, &e.customer_id, Some(e.store_id));
            know_version(view, e.previous.clone());
            know_version(view, e.current.clone());
        }
        // Money, and a change that was not made: nothing the customer's view shows.
        Event::OrderChangeAbandoned(_) | Event::PaymentAdjusted(_) => {}
        Event::PaymentApproved(e) => {
            know(view, &e.customer_id, None);
            raise(&mut view.payment_status, PaymentStatus::Approved);
        }
        Event::PaymentCanceled(e) => {
            know(view, &e.customer_id, None);
            raise(&mut view.payment_status, PaymentStatus::Refunded);
        }
        Event::StoreOrderAccepted(e) => {
            know(view, &e.customer_id, Some(e.store_id));
            raise(&mut view.store_status, StoreStatus::Accepted);
            raise(&mut view.order_status, O::Accepted);
        }
        Event::StoreOrderRejected(e) => {
            know(view, &e.customer_id, Some(e.store_id));
            raise(&mut view.store_status, StoreStatus::Rejected);
            cancel(view, "store_rejected");
        }
        Event::CookingStarted(e) => {
            know(view, &e.customer_id, Some(e.store_id));
            raise(&mut view.store_status, StoreStatus::Cooking);
            raise(&mut view.order_status, O::Cooking);
        }
        Event::CookingFinished(e) => {
            know(view, &e.customer_id, Some(e.store_id));
            raise(&mut view.store_status, StoreStatus::Cooked);
            raise(&mut view.order_status, O::Cooked);
        }
        Event::DeliveryRequested(e) => {
            know(view, &e.customer_id, Some(e.store_id));
            raise(&mut view.order_status, O::Cooked);
        }
        Event::DeliveryStarted(e) => {
            know(view, &e.customer_id, None);
            raise(&mut view.delivery_status, DeliveryStatus::Started);
            raise(&mut view.order_status, O::Delivering);
        }
        Event::DeliveryCompleted(e) => {
            know(view, &e.customer_id, None);
            raise(&mut view.delivery_status, DeliveryStatus::Completed);
            raise(&mut view.order_status, O::Delivered);
        }
        Event::DeliveryCanceled(e) => {
            know(view, &e.customer_id, None);
            raise(&mut view.delivery_status, DeliveryStatus::Canceled);
        }
        Event::DeliveryAccidentReported(e) => {
            know(view, &e.customer_id, None);
            raise(&mut view.delivery_status, DeliveryStatus::Failed);
            cancel(view, "delivery_accident");
        }
        Event::StoreRegistered(_)
        | Event::MenuItemRegistered(_)
        | Event::MenuItemChanged(_)
        | Event::MenuItemRemoved(_) => {}
        // A store's reviews and rating, on a topic this projection does not read; keyed by
        // store, they name no order (`merge` ignores them before this).
        Event::ReviewPosted(_) | Event::ReviewEdited(_) | Event::StoreRatingChanged(_) => {}
    }
}

/// Learns one version of the order's contents: the latest is the view's, the others are kept in
/// `previous_versions`, each once, whatever order they came in.
fn know_version(view: &mut OrderView, version: OrderVersion) {
    if version.version == view.version {
        return;
    }
    let older = if version.version > view.version {
        let current = OrderVersion {
            version: view.version,
            items: std::mem::replace(&mut view.items, version.items),
            total_price: view.total_price.unwrap_or_default(),
            delivery_address: view.delivery_address.take().unwrap_or_default(),
        };
        view.version = version.version;
        view.total_price = Some(version.total_price);
        view.delivery_address = Some(version.delivery_address);
        // Version 0 is the empty view's: nothing to keep.
        (current.version > 0).then_some(current)
    } else {
        Some(version)
    };
    if let Some(older) = older {
        let at = view
            .previous_versions
            .partition_point(|v| v.version < older.version);
        if view.previous_versions.get(at).map(|v| v.version) != Some(older.version) {
            view.previous_versions.insert(at, older);
        }
    }
}

fn know(view: &mut OrderView, customer_id: &str, store_id: Option<Uuid>) {
    view.customer_id
        .get_or_insert_with(|| customer_id.to_owned());
    if let Some(store_id) = store_id {
        view.store_id.get_or_insert(store_id);
    }
}

/// Cancels on the strength of another service's event; `OrderCanceled` may refine the reason.
fn cancel(view: &mut OrderView, reason: &str) {
    raise(&mut view.order_status, OrderStatus::Canceled);
    if view.cancel_reason.is_none() {
        view.cancel_reason = Some(reason.to_owned());
    }
}

/// Sets `slot` to `status` only if that moves it up: a late, older event changes nothing.
fn raise<S: Ranked>(slot: &mut Option<S>, status: S) {
    if slot
        .as_ref()
        .is_none_or(|current| status.rank() > current.rank())
    {
        *slot = Some(status);
    }
}

#[cfg(test)]
mod tests;
