//! How delivery reacts to events: the I/O around the pure decisions of [`crate::domain`].
//! `CookingFinished` starts a delivery, once; `OrderCanceled` cancels the one under way and is
//! remembered, so that a delivery never starts for a canceled order.

use async_trait::async_trait;
use backbone::{EventHandler, HandleError, outbox};
use shared_events::{CookingFinished, Envelope, Event, OrderCanceled, Topic};
use sqlx::PgConnection;

use crate::db;
use crate::domain::{on_cooking_finished, on_order_canceled};

/// The `source` of the events this service publishes.
pub const SOURCE: &str = "delivery";

/// Starts and cancels deliveries as orders are cooked and canceled.
pub struct Deliveries;

#[async_trait]
impl EventHandler for Deliveries {
    fn name(&self) -> &'static str {
        "delivery.deliveries"
    }

    fn topics(&self) -> Vec<Topic> {
        vec![Topic::Store, Topic::Order]
    }

    fn accepts(&self, event: &Event) -> bool {
        matches!(event, Event::CookingFinished(_) | Event::OrderCanceled(_))
    }

    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope) -> Result<(), HandleError> {
        match &envelope.event {
            Event::CookingFinished(finished) => start(tx, finished).await?,
            Event::OrderCanceled(canceled) => cancel(tx, canceled).await?,
            _ => {}
        }
        Ok(())
    }
}

async fn start(tx: &mut PgConnection, finished: &CookingFinished) -> sqlx::Result<()> {
    backbone::lock_order(tx, finished.order_id).await?;
    let existing = db::by_order_for_update(tx, finished.order_id).await?;
    let canceled = db::is_canceled(tx, finished.order_id).await?;
    let Some((delivery, started)) =
        on_cooking_finished(existing.as_ref(), canceled, finished, db::now())
    else {
        if canceled {
            tracing::info!(order.id = %finished.order_id, "order already canceled: no delivery");
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
