//! The owner's work on store orders. Each action is a transition of the domain's state machine
//! and commits together with the event it publishes.

use backbone::outbox;
use service_runtime::trace;
use shared_events::Envelope;
use sqlx::PgPool;
use tracing::Instrument;
use uuid::Uuid;

use super::owned_store;
use crate::db::{self, store_orders as queries};
use crate::domain::{Action, InvalidInput, InvalidTransition, StoreOrder};
use crate::events::SOURCE;

#[derive(Debug, thiserror::Error)]
pub enum StoreOrderError {
    /// No such store of the caller's.
    #[error("no store {0}")]
    StoreNotFound(Uuid),
    /// No such order in the caller's stores.
    #[error("no store order {0}")]
    NotFound(Uuid),
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error(transparent)]
    Transition(#[from] InvalidTransition),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// The orders of `owner_id`'s store, newest first.
pub async fn of_store(
    pool: &PgPool,
    owner_id: &str,
    store_id: Uuid,
) -> Result<Vec<StoreOrder>, StoreOrderError> {
    let store = owned_store(pool, owner_id, store_id)
        .await?
        .ok_or(StoreOrderError::StoreNotFound(store_id))?;
    Ok(queries::of_store(pool, store.id).await?)
}

/// Applies an owner's `action` to an order of one of `owner_id`'s stores, with the event it
/// publishes in the same transaction.
pub async fn act(
    pool: &PgPool,
    owner_id: &str,
    order_id: Uuid,
    action: Action,
) -> Result<StoreOrder, StoreOrderError> {
    let mut tx = pool.begin().await?;
    backbone::lock_order(&mut tx, order_id).await?;
    let mut order = queries::for_update(&mut tx, order_id)
        .await?
        .ok_or(StoreOrderError::NotFound(order_id))?;
    owned_store(&mut *tx, owner_id, order.store_id)
        .await?
        .ok_or(StoreOrderError::NotFound(order_id))?;
    let event = order.act(action, db::now())?;
    // The owner's request has a trace of its own; the order's work continues the order's.
    let saga = queries::saga_trace(&mut tx, order_id).await?;
    let saga = trace::join("store order", order_id, saga.as_deref());
    async {
        queries::save_status(&mut tx, &order).await?;
        outbox::enqueue(&mut tx, &Envelope::new(SOURCE, event)).await?;
        outbox::commit(tx).await
    }
    .instrument(saga)
    .await?;
    tracing::info!(order.id = %order.order_id, store.id = %order.store_id, status = %order.status, "store order moved");
    Ok(order)
}
