//! Delivery queries, one small function each, on a connection or transaction the caller holds.

use chrono::{DateTime, Utc};
use service_runtime::trace;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::Delivery;

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    order_id: Uuid,
    customer_id: String,
    address: String,
    status: String,
    accident_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<Row> for Delivery {
    type Error = sqlx::Error;

    fn try_from(row: Row) -> Result<Self, Self::Error> {
        Ok(Delivery {
            id: row.id,
            order_id: row.order_id,
            customer_id: row.customer_id,
            address: row.address,
            status: row.status.parse().map_err(|_| {
                sqlx::Error::Decode(format!("unknown delivery status {:?}", row.status).into())
            })?,
            accident_reason: row.accident_reason,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

const COLUMNS: &str =
    "id, order_id, customer_id, address, status, accident_reason, created_at, updated_at";

pub use service_runtime::clock::now;

/// Inserts `delivery` unless its order has one; `true` if inserted.
#[tracing::instrument(skip_all, fields(order.id = %delivery.order_id, delivery.id = %delivery.id))]
pub async fn insert_if_absent(conn: &mut PgConnection, delivery: &Delivery) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "insert into delivery (id, order_id, customer_id, address, status, accident_reason,
             created_at, updated_at, traceparent)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict on constraint delivery_order_id do nothing",
    )
    .bind(delivery.id)
    .bind(delivery.order_id)
    .bind(&delivery.customer_id)
    .bind(&delivery.address)
    .bind(delivery.status.as_str())
    .bind(&delivery.accident_reason)
    .bind(delivery.created_at)
    .bind(delivery.updated_at)
    .bind(trace::current())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// The order's delivery, locked for update.
pub async fn by_order_for_update(
    conn: &mut PgConnection,
    order_id: Uuid,
) -> sqlx::Result<Option<Delivery>> {
    let sql = format!("select {COLUMNS} from delivery where order_id = $1 for update");
    fetch(conn, &sql, order_id).await
}

pub async fn by_order(
    executor: impl PgExecutor<'_>,
    order_id: Uuid,
) -> sqlx::Result<Option<Delivery>> {
    let sql = format!("select {COLUMNS} from delivery where order_id = $1");
    fetch(executor, &sql, order_id).await
}

/// The order a delivery belongs to, and the trace context of that order's saga as the delivery
/// learnt of it (what the rider does continues that trace).
pub async fn order_of(
    executor: impl PgExecutor<'_>,
    id: Uuid,
) -> sqlx::Result<Option<(Uuid, Option<String>)>> {
    sqlx::query_as("select order_id, traceparent from delivery where id = $1")
        .bind(id)
        .fetch_optional(executor)
        .await
}

/// The delivery, locked for update.
pub async fn for_update(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<Delivery>> {
    let sql = format!("select {COLUMNS} from delivery where id = $1 for update");
    fetch(conn, &sql, id).await
}

async fn fetch(
    executor: impl PgExecutor<'_>,
    sql: &str,
    id: Uuid,
) -> sqlx::Result<Option<Delivery>> {
    sqlx::query_as::<_, Row>(sql)
        .bind(id)
        .fetch_optional(executor)
        .await?
        .map(Delivery::try_from)
        .transpose()
}

#[tracing::instrument(skip_all, fields(delivery.id = %delivery.id, status = %delivery.status))]
pub async fn save_status(conn: &mut PgConnection, delivery: &Delivery) -> sqlx::Result<()> {
    sqlx::query(
        "update delivery set status = $2, accident_reason = $3, updated_at = $4 where id = $1",
    )
    .bind(delivery.id)
    .bind(delivery.status.as_str())
    .bind(&delivery.accident_reason)
    .bind(delivery.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Remembers that the order was canceled (idempotent).
pub async fn record_cancellation(conn: &mut PgConnection, order_id: Uuid) -> sqlx::Result<()> {
    sqlx::query("insert into canceled_order (order_id) values ($1) on conflict do nothing")
        .bind(order_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn is_canceled(conn: &mut PgConnection, order_id: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar("select exists (select 1 from canceled_order where order_id = $1)")
        .bind(order_id)
        .fetch_one(conn)
        .await
}
