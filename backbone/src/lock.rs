//! Per-order locking. An order is touched by event handlers of several consumers and by HTTP
//! requests, each in its own transaction; taking the order's lock first makes them take turns,
//! so each decides on what the previous one committed (see [`crate::inbox`] for why this cannot
//! deadlock a request against a batch).

use sqlx::PgConnection;
use uuid::Uuid;

/// Serializes work on one order across transactions (an event handler and an HTTP request, or
/// two handlers) for the rest of the caller's transaction: whichever comes second sees what the
/// first committed.
pub async fn lock_order(conn: &mut PgConnection, order_id: Uuid) -> sqlx::Result<()> {
    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1::text, 0))")
        .bind(order_id)
        .execute(conn)
        .await?;
    Ok(())
}
