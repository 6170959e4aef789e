//! The idempotent consumer for PostgreSQL services: the inbox row and the handler's effect
//! commit together, so an event redelivered after a crash or a rebalance has no second effect.

use async_trait::async_trait;
use shared_events::{Envelope, Event, Topic};
use sqlx::{PgConnection, PgPool};

use crate::consumer::{HandleError, Outcome, Processor};

/// A service's reaction to events, applied inside the transaction it is given.
#[async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// Consumer name (group id and inbox key), e.g. `store.orders`.
    fn name(&self) -> &'static str;
    fn topics(&self) -> Vec<Topic>;
    /// Whether this handler acts on `event` at all. Others are skipped without an inbox row.
    fn accepts(&self, event: &Event) -> bool;
    /// Applies the effect of `envelope`, touching the database only through `tx` (and writing
    /// any events it causes to the outbox through `tx`).
    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope) -> Result<(), HandleError>;
}

/// [`Processor`] that wraps an [`EventHandler`] in an inbox transaction.
pub struct PgInbox<H> {
    pool: PgPool,
    handler: H,
}

impl<H: EventHandler> PgInbox<H> {
    pub fn new(pool: PgPool, handler: H) -> Self {
        Self { pool, handler }
    }
}

#[async_trait]
impl<H: EventHandler> Processor for PgInbox<H> {
    fn name(&self) -> &'static str {
        self.handler.name()
    }

    fn topics(&self) -> Vec<Topic> {
        self.handler.topics()
    }

    async fn process(&self, envelope: &Envelope) -> Result<Outcome, HandleError> {
        if !self.handler.accepts(&envelope.event) {
            return Ok(Outcome::Ignored);
        }
        let mut tx = self.pool.begin().await?;
        let first_time = sqlx::query(
            "insert into inbox (consumer, event_id, event_type) values ($1, $2, $3)
             on conflict do nothing",
        )
        .bind(self.handler.name())
        .bind(envelope.id)
        .bind(envelope.type_name())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !first_time {
            return Ok(Outcome::Duplicate);
        }
        self.handler.handle(&mut tx, envelope).await?;
        tx.commit().await?;
        Ok(Outcome::Applied)
    }
}
