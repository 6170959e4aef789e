//! Store orders, and the cancellations that arrived before their order.

use chrono::{DateTime, Utc};
use service_runtime::trace;
use shared_events::OrderLine;
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::StoreOrder;

#[derive(sqlx::FromRow)]
struct Row {
    order_id: Uuid,
    store_id: Uuid,
    customer_id: String,
    items: Json<Vec<OrderLine>>,
    total_price: i64,
    delivery_address: String,
    status: String,
    reason: Option<String>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<Row> for StoreOrder {
    type Error = sqlx::Error;

    fn try_from(row: Row) -> Result<Self, Self::Error> {
        Ok(StoreOrder {
            order_id: row.order_id,
            store_id: row.store_id,
            customer_id: row.customer_id,
            items: row.items.0,
            total_price: row.total_price,
            delivery_address: row.delivery_address,
            status: row.status.parse().map_err(|_| {
                sqlx::Error::Decode(format!("unknown store order status {:?}", row.status).into())
            })?,
            reason: row.reason,
            version: u32::try_from(row.version).map_err(|_| {
                sqlx::Error::Decode(format!("invalid store order version {}", row.version).into())
            })?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

const COLUMNS: &str = "order_id, store_id, customer_id, items, total_price, delivery_address, \
                       status, reason, version, created_at, updated_at";

/// Inserts `order` unless it exists; `true` if inserted.
#[tracing::instrument(skip_all, fields(order.id = %order.order_id))]
pub async fn insert_if_absent(conn: &mut PgConnection, order: &StoreOrder) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "insert into store_order (order_id, store_id, customer_id, items, total_price,
             delivery_address, status, reason, created_at, updated_at, traceparent)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         on conflict on constraint store_order_pkey do nothing",
    )
    .bind(order.order_id)
    .bind(order.store_id)
    .bind(&order.customer_id)
    .bind(Json(&order.items))
    .bind(order.total_price)
    .bind(&order.delivery_address)
    .bind(order.status.as_str())
    .bind(&order.reason)
    .bind(order.created_at)
    .bind(order.updated_at)
    .bind(trace::current())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// The trace context of the order's saga, as the store learnt of the order: what the owner does
/// to it continues that trace.
pub async fn saga_trace(conn: &mut PgConnection, order_id: Uuid) -> sqlx::Result<Option<String>> {
    let found: Option<Option<String>> =
        sqlx::query_scalar("select traceparent from store_order where order_id = $1")
            .bind(order_id)
            .fetch_optional(conn)
            .await?;
    Ok(found.flatten())
}

/// The store order, locked for update.
pub async fn for_update(
    conn: &mut PgConnection,
    order_id: Uuid,
) -> sqlx::Result<Option<StoreOrder>> {
    let sql = format!("select {COLUMNS} from store_order where order_id = $1 for update");
    sqlx::query_as::<_, Row>(&sql)
        .bind(order_id)
        .fetch_optional(conn)
        .await?
        .map(StoreOrder::try_from)
        .transpose()
}

/// Saves the status and reason of `order`.
#[tracing::instrument(skip_all, fields(order.id = %order.order_id, status = %order.status))]
pub async fn save_status(conn: &mut PgConnection, order: &StoreOrder) -> sqlx::Result<()> {
    sqlx::query(
        "update store_order set status = $2, reason = $3, updated_at = $4 where order_id = $1",
    )
    .bind(order.order_id)
    .bind(order.status.as_str())
    .bind(&order.reason)
    .bind(order.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Saves the lines, price, address and version of `order` (a customer's change).
#[tracing::instrument(skip_all, fields(order.id = %order.order_id, version = order.version))]
pub async fn save_contents(conn: &mut PgConnection, order: &StoreOrder) -> sqlx::Result<()> {
    sqlx::query(
        "update store_order set items = $2, total_price = $3, delivery_address = $4, version = $5,
             updated_at = $6
         where order_id = $1",
    )
    .bind(order.order_id)
    .bind(Json(&order.items))
    .bind(order.total_price)
    .bind(&order.delivery_address)
    .bind(i64::from(order.version))
    .bind(order.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The store's orders, newest first.
pub async fn of_store(
    executor: impl PgExecutor<'_>,
    store_id: Uuid,
) -> sqlx::Result<Vec<StoreOrder>> {
    let sql = format!(
        "select {COLUMNS} from store_order where store_id = $1 order by created_at desc, order_id desc"
    );
    sqlx::query_as::<_, Row>(&sql)
        .bind(store_id)
        .fetch_all(executor)
        .await?
        .into_iter()
        .map(StoreOrder::try_from)
        .collect()
}

/// Remembers a cancellation that arrived before its order (idempotent).
pub async fn remember_cancellation(
    conn: &mut PgConnection,
    order_id: Uuid,
    reason: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into canceled_order (order_id, reason) values ($1, $2) on conflict do nothing",
    )
    .bind(order_id)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// The reason of a cancellation that arrived before its order, if any.
pub async fn cancellation(conn: &mut PgConnection, order_id: Uuid) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("select reason from canceled_order where order_id = $1")
        .bind(order_id)
        .fetch_optional(conn)
        .await
}
