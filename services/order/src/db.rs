//! Order and menu-replica queries.

use std::time::Duration;

use chrono::{DateTime, Utc};
use shared_events::{CancelReason, OrderLine};
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::{MenuItem, Order, OrderStatus};

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: Uuid,
    customer_id: String,
    store_id: Uuid,
    items: Json<Vec<OrderLine>>,
    total_price: i64,
    delivery_address: String,
    status: String,
    cancel_reason: Option<String>,
    payment_id: Option<Uuid>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<OrderRow> for Order {
    type Error = sqlx::Error;

    fn try_from(row: OrderRow) -> Result<Self, Self::Error> {
        let decode = |e: String| sqlx::Error::Decode(e.into());
        Ok(Order {
            id: row.id,
            customer_id: row.customer_id,
            store_id: row.store_id,
            items: row.items.0,
            total_price: row.total_price,
            delivery_address: row.delivery_address,
            status: row
                .status
                .parse()
                .map_err(|_| decode(format!("unknown order status {:?}", row.status)))?,
            cancel_reason: row
                .cancel_reason
                .map(|r| {
                    CancelReason::parse(&r)
                        .ok_or_else(|| decode(format!("unknown cancel reason {r:?}")))
                })
                .transpose()?,
            payment_id: row.payment_id,
            version: u32::try_from(row.version)
                .map_err(|_| decode(format!("invalid order version {}", row.version)))?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

const COLUMNS: &str = "id, customer_id, store_id, items, total_price, delivery_address, status, \
                       cancel_reason, payment_id, version, created_at, updated_at";

fn into_orders(rows: Vec<OrderRow>) -> sqlx::Result<Vec<Order>> {
    rows.into_iter().map(Order::try_from).collect()
}

/// Why a new order was not stored.
pub enum InsertError {
    /// The customer already used this idempotency key.
    DuplicateKey,
    Database(sqlx::Error),
}

/// An idempotency key as a request sent it, with the digest of that request.
pub struct Key<'a> {
    pub key: &'a str,
    pub digest: [u8; 32],
}

/// The order stored under an idempotency key, and the digest of the request that stored it
/// (`None` for orders stored before digests were kept).
pub struct Keyed {
    pub order: Order,
    pub digest: Option<Vec<u8>>,
}

#[derive(sqlx::FromRow)]
struct KeyedRow {
    #[sqlx(flatten)]
    order: OrderRow,
    request_digest: Option<Vec<u8>>,
}

/// Stores a new PaymentPending order, leased to the attempt storing it for `lease`.
#[tracing::instrument(skip_all, fields(order.id = %order.id))]
pub async fn insert(
    executor: impl PgExecutor<'_>,
    order: &Order,
    key: Option<&Key<'_>>,
    lease: Duration,
) -> Result<(), InsertError> {
    sqlx::query(
        "insert into customer_order (id, customer_id, store_id, items, total_price,
             delivery_address, status, idempotency_key, request_digest, created_at, updated_at,
             attempt_until)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10,
                 now() + $11 * interval '1 millisecond')",
    )
    .bind(order.id)
    .bind(&order.customer_id)
    .bind(order.store_id)
    .bind(Json(&order.items))
    .bind(order.total_price)
    .bind(&order.delivery_address)
    .bind(order.status.as_str())
    .bind(key.map(|k| k.key))
    .bind(key.map(|k| k.digest.as_slice()))
    .bind(order.created_at)
    .bind(millis(lease))
    .execute(executor)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.constraint() == Some("customer_order_idempotency_key") => {
            InsertError::DuplicateKey
        }
        _ => InsertError::Database(e),
    })?;
    Ok(())
}

pub async fn by_idempotency_key(
    executor: impl PgExecutor<'_>,
    customer_id: &str,
    key: &str,
) -> sqlx::Result<Option<Keyed>> {
    let Some(row) = sqlx::query_as::<_, KeyedRow>(&format!(
        "select {COLUMNS}, request_digest from customer_order
         where customer_id = $1 and idempotency_key = $2"
    ))
    .bind(customer_id)
    .bind(key)
    .fetch_optional(executor)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(Keyed {
        order: Order::try_from(row.order)?,
        digest: row.request_digest,
    }))
}

/// The order, locked for update when `lock` is set (inside a transaction).
pub async fn get(
    executor: impl PgExecutor<'_>,
    id: Uuid,
    lock: bool,
) -> sqlx::Result<Option<Order>> {
    let lock = if lock { " for update" } else { "" };
    sqlx::query_as::<_, OrderRow>(&format!(
        "select {COLUMNS} from customer_order where id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(executor)
    .await?
    .map(Order::try_from)
    .transpose()
}

pub async fn list_for_customer(
    executor: impl PgExecutor<'_>,
    customer_id: &str,
) -> sqlx::Result<Vec<Order>> {
    let rows = sqlx::query_as::<_, OrderRow>(&format!(
        "select {COLUMNS} from customer_order where customer_id = $1 order by created_at desc limit 200"
    ))
    .bind(customer_id)
    .fetch_all(executor)
    .await?;
    into_orders(rows)
}

/// PaymentPending orders whose attempt's lease has run out: their attempt is over (the process
/// died between the payment call and recording its answer, or left the order for later).
pub async fn abandoned(executor: impl PgExecutor<'_>) -> sqlx::Result<Vec<Order>> {
    let rows = sqlx::query_as::<_, OrderRow>(&format!(
        "select {COLUMNS} from customer_order
         where status = 'PaymentPending' and attempt_until < now()
         order by attempt_until limit 100"
    ))
    .fetch_all(executor)
    .await?;
    into_orders(rows)
}

/// Takes a PaymentPending order over for a new attempt of `lease`, if no attempt holds it now.
/// `None` when another attempt's lease is still running, or the order is settled.
pub async fn take_over(
    executor: impl PgExecutor<'_>,
    id: Uuid,
    lease: Duration,
) -> sqlx::Result<Option<Order>> {
    sqlx::query_as::<_, OrderRow>(&format!(
        "update customer_order set attempt_until = now() + $2 * interval '1 millisecond'
         where id = $1 and status = 'PaymentPending'
           and coalesce(attempt_until, '-infinity') < now()
         returning {COLUMNS}"
    ))
    .bind(id)
    .bind(millis(lease))
    .fetch_optional(executor)
    .await?
    .map(Order::try_from)
    .transpose()
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Stores the order's new state if its status is still `expected`; `false` if someone else
/// changed it first. An order whose payment failed gives its idempotency key back, so the
/// customer's retry with the same key is a new attempt.
pub async fn save(
    conn: &mut PgConnection,
    order: &Order,
    expected: OrderStatus,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "update customer_order
         set status = $2, cancel_reason = $3, payment_id = $4, updated_at = now(),
             idempotency_key = case when $2 = 'PaymentFailed' then null else idempotency_key end
         where id = $1 and status = $5",
    )
    .bind(order.id)
    .bind(order.status.as_str())
    .bind(order.cancel_reason.map(CancelReason::as_str))
    .bind(order.payment_id)
    .bind(expected.as_str())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Stores a change of the order's contents, made from version `expected` (the caller holds the
/// order's row lock, so this only guards against a bug).
pub async fn save_contents(
    conn: &mut PgConnection,
    order: &Order,
    expected: u32,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "update customer_order
         set items = $2, total_price = $3, delivery_address = $4, version = $5, updated_at = now()
         where id = $1 and version = $6",
    )
    .bind(order.id)
    .bind(Json(&order.items))
    .bind(order.total_price)
    .bind(&order.delivery_address)
    .bind(i64::from(order.version))
    .bind(i64::from(expected))
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

pub async fn menu_of_store(
    executor: impl PgExecutor<'_>,
    store_id: Uuid,
) -> sqlx::Result<Vec<MenuItem>> {
    let rows: Vec<(Uuid, Uuid, String, i64, bool)> = sqlx::query_as(
        "select menu_item_id, store_id, name, price, available from menu_item where store_id = $1",
    )
    .bind(store_id)
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(menu_item_id, store_id, name, price, available)| MenuItem {
                menu_item_id,
                store_id,
                name,
                price,
                available,
            },
        )
        .collect())
}

pub async fn upsert_menu_item(conn: &mut PgConnection, item: &MenuItem) -> sqlx::Result<()> {
    sqlx::query(
        "insert into menu_item (menu_item_id, store_id, name, price, available)
         values ($1, $2, $3, $4, $5)
         on conflict (menu_item_id) do update
         set store_id = excluded.store_id, name = excluded.name, price = excluded.price,
             available = excluded.available, updated_at = now()",
    )
    .bind(item.menu_item_id)
    .bind(item.store_id)
    .bind(&item.name)
    .bind(item.price)
    .bind(item.available)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_menu_item(conn: &mut PgConnection, menu_item_id: Uuid) -> sqlx::Result<()> {
    sqlx::query("delete from menu_item where menu_item_id = $1")
        .bind(menu_item_id)
        .execute(conn)
        .await?;
    Ok(())
}
