//! How the store reacts to order events: the I/O around the pure decisions of
//! [`crate::domain::store_order`]. `OrderPlaced` creates a store order, once; `OrderCanceled`
//! cancels it, or is remembered until the order arrives. The review service's
//! `StoreRatingChanged` is each store's rating, shown with the store.

use async_trait::async_trait;
use backbone::{EventHandler, HandleError};
use shared_events::contract::Reliance;
use shared_events::{
    Envelope, Event, OrderCanceled, OrderChanged, OrderPlaced, StoreRatingChanged, Topic,
};
use sqlx::PgConnection;

use crate::db::{self, catalog, store_orders};
use crate::domain::{Cancellation, Rating, on_order_canceled, on_order_changed, on_order_placed};

/// The `source` of the events this service publishes.
pub const SOURCE: &str = "store";

/// What [`StoreOrders`] reads in the order service's events, and [`Ratings`] in the review
/// service's: the contracts crate checks every producer's real events against it
/// (docs/contracts.md).
pub const RELIES_ON: &[Reliance] = &[
    Reliance {
        event: "OrderPlaced",
        fields: &[
            "data.orderId: uuid",
            "data.storeId: uuid",
            "data.customerId: string",
            "data.items[].menuItemId: uuid",
            "data.items[].name: string",
            "data.items[].quantity: integer",
            "data.items[].unitPrice: integer",
            "data.totalPrice: integer",
            "data.deliveryAddress: string",
        ],
    },
    Reliance {
        event: "OrderCanceled",
        fields: &["data.orderId: uuid", "data.reason: string"],
    },
    Reliance {
        event: "OrderChanged",
        fields: &[
            "data.orderId: uuid",
            "data.current.version: integer",
            "data.current.items[].menuItemId: uuid",
            "data.current.items[].name: string",
            "data.current.items[].quantity: integer",
            "data.current.items[].unitPrice: integer",
            "data.current.totalPrice: integer",
            "data.current.deliveryAddress: string",
        ],
    },
    Reliance {
        event: "StoreRatingChanged",
        fields: &[
            "data.storeId: uuid",
            "data.reviewCount: integer",
            "data.averageRating: integer",
        ],
    },
];

/// Keeps store orders in step with the orders the order service accepted and canceled.
pub struct StoreOrders;

#[async_trait]
impl EventHandler for StoreOrders {
    fn name(&self) -> &'static str {
        "store.orders"
    }

    fn topics(&self) -> Vec<Topic> {
        vec![Topic::Order]
    }

    fn accepts(&self, event: &Event) -> bool {
        matches!(
            event,
            Event::OrderPlaced(_) | Event::OrderCanceled(_) | Event::OrderChanged(_)
        )
    }

    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope) -> Result<(), HandleError> {
        match &envelope.event {
            Event::OrderPlaced(placed) => receive(tx, placed).await?,
            Event::OrderCanceled(canceled) => cancel(tx, canceled).await?,
            Event::OrderChanged(changed) => change(tx, changed).await?,
            _ => {}
        }
        Ok(())
    }
}

async fn receive(tx: &mut PgConnection, placed: &OrderPlaced) -> sqlx::Result<()> {
    backbone::lock_order(tx, placed.order_id).await?;
    let existing = store_orders::for_update(tx, placed.order_id).await?;
    let tombstone = store_orders::cancellation(tx, placed.order_id).await?;
    if let Some(order) = on_order_placed(existing.as_ref(), tombstone.as_deref(), placed, db::now())
    {
        store_orders::insert_if_absent(tx, &order).await?;
        tracing::info!(order.id = %order.order_id, store.id = %order.store_id, status = %order.status, "store order received");
    }
    Ok(())
}

async fn change(tx: &mut PgConnection, changed: &OrderChanged) -> sqlx::Result<()> {
    backbone::lock_order(tx, changed.order_id).await?;
    let existing = store_orders::for_update(tx, changed.order_id).await?;
    if let Some(order) = on_order_changed(existing, changed, db::now()) {
        store_orders::save_contents(tx, &order).await?;
        tracing::info!(order.id = %order.order_id, store.id = %order.store_id, version = order.version, status = %order.status, "store order changed");
    }
    Ok(())
}

async fn cancel(tx: &mut PgConnection, canceled: &OrderCanceled) -> sqlx::Result<()> {
    backbone::lock_order(tx, canceled.order_id).await?;
    let existing = store_orders::for_update(tx, canceled.order_id).await?;
    match on_order_canceled(existing, canceled, db::now()) {
        Cancellation::Remember { reason } => {
            store_orders::remember_cancellation(tx, canceled.order_id, &reason).await?;
            tracing::info!(order.id = %canceled.order_id, "cancellation remembered before its order");
        }
        Cancellation::Cancel(order) => {
            store_orders::save_status(tx, &order).await?;
            tracing::info!(order.id = %order.order_id, store.id = %order.store_id, "store order canceled");
        }
        Cancellation::Nothing => {}
    }
    Ok(())
}

/// Keeps each store's rating as the review service publishes it. A store's ratings travel on
/// one partition in the order they were computed; each is stored with its time, so that a
/// replayed older one does not replace a newer.
pub struct Ratings;

#[async_trait]
impl EventHandler for Ratings {
    fn name(&self) -> &'static str {
        "store.ratings"
    }

    fn topics(&self) -> Vec<Topic> {
        vec![Topic::Review]
    }

    fn accepts(&self, event: &Event) -> bool {
        matches!(event, Event::StoreRatingChanged(_))
    }

    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope) -> Result<(), HandleError> {
        if let Event::StoreRatingChanged(changed) = &envelope.event {
            rate(tx, changed, envelope.occurred_at).await?;
        }
        Ok(())
    }
}

async fn rate(
    tx: &mut PgConnection,
    changed: &StoreRatingChanged,
    at: chrono::DateTime<chrono::Utc>,
) -> sqlx::Result<()> {
    let rating = Rating {
        review_count: changed.review_count,
        average_rating: changed.average_rating,
    };
    catalog::record_rating(tx, changed.store_id, rating, at).await?;
    tracing::info!(store.id = %changed.store_id, reviews = changed.review_count, average = changed.average_rating, "store rating recorded");
    Ok(())
}
