//! How delivery reacts to events: the I/O around the pure decisions of [`crate::domain`].
//! `DeliveryRequested` (the order service's, once the food is cooked) starts a delivery, once;
//! `OrderCanceled` cancels the one under way and is remembered. Both come from the order
//! service on the order's partition, in the order that service decided them: a cancel that won
//! the race with "cooking finished" is read first, and no delivery is requested after it.

use async_trait::async_trait;
use backbone::{EventHandler, HandleError, outbox};
use shared_events::contract::Reliance;
use shared_events::{DeliveryRequested, Envelope, Event, OrderCanceled, Topic};
use sqlx::PgConnection;

use crate::db;
use crate::domain::{on_delivery_requested, on_order_canceled};

/// The `source` of the events this service publishes.
pub const SOURCE: &str = "delivery";

/// What [`Deliveries`] reads in the order service's events: the contracts crate checks every
/// producer's real events against it (docs/contracts.md).
pub const RELIES_ON: &[Reliance] = &[
    Reliance {
        event: "DeliveryRequested",
        fields: &[
            "data.orderId: uuid",
            "data.customerId: string",
            "data.deliveryAddress: string",
        ],
    },
    Reliance {
        event: "OrderCanceled",
        fields: &["data.orderId: uuid"],
    },
];

/// Starts and cancels deliveries as the order service asks for them and cancels orders.
pub struct Deliveries;

#[async_trait]
impl EventHandler for Deliveries {
    fn name(&self) -> &'static str {
        "delivery.deliveries"
    }

    fn topics(&self) -> Vec<Topic> {
        vec![Topic::Order]
    }

    fn accepts(&self, event: &Event) -> bool {
        matches!(event, Event::DeliveryRequested(_) | Event::OrderCanceled(_))
    }

    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope) -> Result<(), HandleError> {
        match &envelope.event {
            Event::DeliveryRequested(requested) => start(tx, requested).await?,
            Event::OrderCanceled(canceled) => cancel(tx, canceled).await?,
            _ => {}
        }
        Ok(())
    }
}

async fn start(tx: &mut PgConnection, requested: &DeliveryRequested) -> sqlx::Result<()> {
    backbone::lock_order(tx, requested.order_id).await?;
    let existing = db::by_order_for_update(tx, requested.order_id).await?;
    let canceled = db::is_canceled(tx, requested.order_id).await?;
    let Some((delivery, started)) =
        on_delivery_requested(existing.as_ref(), canceled, requested, db::now())
    else {
        if canceled {
            tracing::info!(order.id = %requested.order_id, "order already canceled: no delivery");
        }
        return Ok(());
    };
    if db::insert_if_absent(tx, &delivery).await? {
        outbox::enqueue(tx, &Envelope::new(SOURCE, started)).await?;
        tracing::info!(order.id = %delivery.order_id, delivery.id = %delivery.id, "delivery started");
    }
    Ok(())
}

async fn cancel(tx: &mut PgConnection, canceled: &OrderCanceled) -> sqlx::Result<()> {
    backbone::lock_order(tx, canceled.order_id).await?;
    db::record_cancellation(tx, canceled.order_id).await?;
    let existing = db::by_order_for_update(tx, canceled.order_id).await?;
    if let Some((delivery, event)) = on_order_canceled(existing, db::now()) {
        db::save_status(tx, &delivery).await?;
        outbox::enqueue(tx, &Envelope::new(SOURCE, event)).await?;
        tracing::info!(order.id = %delivery.order_id, delivery.id = %delivery.id, "delivery canceled");
    }
    Ok(())
}
