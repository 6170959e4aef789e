//! What riders and readers do with deliveries, independent of HTTP: each command opens its
//! transaction, applies the domain's rule and commits the change with its event.

use backbone::outbox;
use service_runtime::trace;
use shared_events::Envelope;
use sqlx::PgPool;
use tracing::Instrument;
use uuid::Uuid;

use crate::db;
use crate::domain::{Action, Delivery, InvalidReason, InvalidTransition};
use crate::events::SOURCE;

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("no delivery {0}")]
    NotFound(Uuid),
    #[error(transparent)]
    InvalidReason(#[from] InvalidReason),
    #[error(transparent)]
    Transition(#[from] InvalidTransition),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// The order's delivery, if it has one.
pub async fn of_order(pool: &PgPool, order_id: Uuid) -> Result<Option<Delivery>, DeliveryError> {
    Ok(db::by_order(pool, order_id).await?)
}

/// Applies a rider's `action`, with the event it publishes in the same transaction; the
/// domain refuses it when the delivery is already over.
pub async fn act(
    pool: &PgPool,
    delivery_id: Uuid,
    action: Action,
) -> Result<Delivery, DeliveryError> {
    let mut tx = pool.begin().await?;
    let (order_id, saga) = db::order_of(&mut *tx, delivery_id)
        .await?
        .ok_or(DeliveryError::NotFound(delivery_id))?;
    // Lock in the order the event handlers do, the order first and then the row: no deadlock.
    backbone::lock_order(&mut tx, order_id).await?;
    let mut delivery = db::for_update(&mut tx, delivery_id)
        .await?
        .ok_or(DeliveryError::NotFound(delivery_id))?;
    let event = delivery.act(action, db::now())?;
    // The rider's request has a trace of its own; the order's work continues the order's.
    let saga = trace::join("delivery", order_id, saga.as_deref());
    async {
        db::save_status(&mut tx, &delivery).await?;
        outbox::enqueue(&mut tx, &Envelope::new(SOURCE, event)).await?;
        outbox::commit(tx).await
    }
    .instrument(saga)
    .await?;
    tracing::info!(order.id = %delivery.order_id, delivery.id = %delivery.id, status = %delivery.status, "delivery moved");
    Ok(delivery)
}
