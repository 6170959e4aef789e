//! The store's queries, one small function each, on a connection or transaction the caller
//! holds.

pub mod catalog;
pub mod store_orders;

/// The name of the constraint `error` violated, if it is such an error. Callers map constraint
/// names (never error texts) to answers.
pub fn violated_constraint(error: &sqlx::Error) -> Option<&str> {
    error.as_database_error()?.constraint()
}

/// Serializes all work on one order across transactions and instances (order events arrive on
/// two topics and owners act concurrently). Held until the transaction ends.
pub async fn lock_order(conn: &mut sqlx::PgConnection, order_id: uuid::Uuid) -> sqlx::Result<()> {
    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1::text, 0))")
        .bind(order_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The current time at the precision PostgreSQL keeps (microseconds), so that what a request
/// answers equals what a later read returns.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}
