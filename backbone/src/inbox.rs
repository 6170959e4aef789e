//! The idempotent consumer for PostgreSQL services: the inbox row and the handler's effect
//! commit together, so an event redelivered after a crash or a rebalance has no second effect.
//!
//! # Batches
//!
//! PostgreSQL sessions of a busy consumer wait mostly on `COMMIT` (the WAL flush), so a batch of
//! events is applied in one transaction: for each event in order, its inbox row, then its effect
//! (and the events it causes, in the outbox); one commit for all. The consumer stores the batch's
//! offsets only after that commit. A redelivered event finds its inbox row, within the batch too.
//!
//! When an event's handler fails ([`HandleError::Failed`]), the transaction is rolled back and
//! the events before the failing one are applied again, in a new transaction, without it; the
//! consumer then retries the failing event on its own (and dead-letters it if it keeps failing)
//! before it goes on with the events after it. Nothing behind a failed event commits before the
//! failed event is resolved, so each partition's order holds. A failure is rare, and this costs
//! one more pass over the events before it; savepoints (one per event) would have spared that
//! pass, but they make every event a subtransaction, and PostgreSQL caches only 64
//! subtransactions per transaction: beyond that, every other session's snapshot checks go
//! through `pg_subtrans` for as long as the batch runs, a known slowdown of the whole database.
//!
//! An infrastructure error ([`HandleError::Transient`]: the database unreachable, a deadlock, a
//! failed commit) rolls the whole batch back, and the consumer retries its events one at a time.
//!
//! # Locks
//!
//! Handlers lock the order they act on (`lock_order`, row locks) until their transaction ends,
//! so a batch holds the locks of all its orders until it commits; an HTTP request on one of them
//! waits for the batch (milliseconds: the batch is at most `CONSUMER_BATCH_MAX` events). A request
//! locks one order per transaction, so it never waits while holding a lock a batch wants: no
//! cycle. Two batches in one database can deadlock, though (one holds A and wants B, the other
//! holds B and wants A): two consumers whose events touch the same orders, or two replicas of
//! one consumer during a rebalance. Locking a batch's orders up front in a fixed order would
//! prevent it, but the handlers take their own locks, and only they know which. So a deadlock is
//! left to PostgreSQL to detect: it aborts one of the transactions (`40P01`, transient), and that
//! batch's events are retried one at a time. Each of those transactions locks one order only, so,
//! like a request, it cannot close a cycle again.

use async_trait::async_trait;
use shared_events::{Envelope, Event, Topic};
use sqlx::{PgConnection, PgPool};

use crate::consumer::{BatchError, Delivered, HandleError, Outcome, Processor};
use crate::outbox;

/// A service's reaction to events, applied inside the transaction it is given.
#[async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// Consumer name (group id and inbox key), e.g. `store.orders`.
    fn name(&self) -> &'static str;
    fn topics(&self) -> Vec<Topic>;
    /// Whether this handler acts on `event` at all. Others are skipped without an inbox row.
    fn accepts(&self, event: &Event) -> bool;
    /// Applies the effect of `envelope`, touching the database only through `tx` (and writing
    /// any events it causes to the outbox through `tx`). It may be rolled back and run again
    /// (with the rest of a batch), so it has no other effects.
    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope) -> Result<(), HandleError>;
}

/// [`Processor`] that wraps an [`EventHandler`] in an inbox transaction.
pub struct PgInbox<H> {
    pool: PgPool,
    handler: H,
}

/// Where applying a batch failed: at the event with this index, or (`None`) at the transaction's
/// begin or commit.
type Failure = (Option<usize>, HandleError);

impl<H: EventHandler> PgInbox<H> {
    pub fn new(pool: PgPool, handler: H) -> Self {
        Self { pool, handler }
    }

    /// Records `envelope` in the inbox and applies it, in `tx`; a duplicate is left alone.
    #[tracing::instrument(name = "apply", skip_all, fields(db.system = "postgresql"))]
    async fn apply(
        &self,
        tx: &mut PgConnection,
        envelope: &Envelope,
    ) -> Result<Outcome, HandleError> {
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
        self.handler.handle(tx, envelope).await?;
        Ok(Outcome::Applied)
    }

    /// Applies `batch` in one transaction (none if the handler accepts none of its events). On
    /// failure nothing is committed.
    async fn apply_all(&self, batch: &[Delivered]) -> Result<Vec<Outcome>, Failure> {
        let accepted = |event: &Delivered| self.handler.accepts(&event.envelope.event);
        if !batch.iter().any(accepted) {
            return Ok(vec![Outcome::Ignored; batch.len()]);
        }
        let mut tx = self.pool.begin().await.map_err(|e| (None, e.into()))?;
        let mut outcomes = Vec::with_capacity(batch.len());
        for (i, event) in batch.iter().enumerate() {
            if !accepted(event) {
                outcomes.push(Outcome::Ignored);
                continue;
            }
            match event.scope(|| self.apply(&mut tx, &event.envelope)).await {
                Ok(outcome) => outcomes.push(outcome),
                Err(error) => {
                    // Failing here too (connection lost) leaves nothing behind either.
                    let _ = tx.rollback().await;
                    return Err((Some(i), error));
                }
            }
        }
        outbox::commit(tx).await.map_err(|e| (None, e.into()))?;
        let events = outcomes.iter().filter(|o| **o != Outcome::Ignored).count();
        metrics::histogram!("inbox_transaction_events", "consumer" => self.handler.name())
            .record(events as f64);
        Ok(outcomes)
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
        let outcome = self.apply(&mut tx, envelope).await?;
        outbox::commit(tx).await?;
        Ok(outcome)
    }

    /// One transaction for the batch; see the module documentation.
    async fn process_batch(&self, batch: &[Delivered]) -> Result<Vec<Outcome>, BatchError> {
        let mut end = batch.len();
        // The error of `batch[end]`, when the events before it are being applied without it.
        let mut failed = None;
        loop {
            let error = match self.apply_all(&batch[..end]).await {
                Ok(committed) => {
                    return match failed {
                        None => Ok(committed),
                        Some(error) => Err(BatchError { committed, error }),
                    };
                }
                Err((Some(at), error @ HandleError::Failed(_))) => {
                    if at == 0 {
                        return Err(BatchError {
                            committed: Vec::new(),
                            error,
                        });
                    }
                    end = at;
                    failed = Some(error);
                    continue;
                }
                Err((_, HandleError::Transient(e))) => e,
                // A commit refused for good (a deferred constraint) names no event: retried one
                // at a time, the events show which one it is.
                Err((None, HandleError::Failed(e))) => e.context("the batch did not commit"),
            };
            return Err(BatchError {
                committed: Vec::new(),
                error: HandleError::Transient(error),
            });
        }
    }
}
