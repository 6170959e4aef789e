//! Payment queries.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::{Adjustment, Payment, PaymentStatus};

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    order_id: Uuid,
    customer_id: String,
    amount: i64,
    status: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<Row> for Payment {
    type Error = sqlx::Error;

    fn try_from(row: Row) -> Result<Self, Self::Error> {
        Ok(Payment {
            id: row.id,
            order_id: row.order_id,
            customer_id: row.customer_id,
            amount: row.amount,
            status: row.status.parse().map_err(|_| {
                sqlx::Error::Decode(format!("unknown payment status {:?}", row.status).into())
            })?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

const COLUMNS: &str = "id, order_id, customer_id, amount, status, created_at, updated_at";

/// Inserts a new payment. The caller holds the order's lock, so there is none yet; the unique
/// constraint on the order id stays as the last line of defence.
#[tracing::instrument(skip_all, fields(order.id = %payment.order_id))]
pub async fn insert(conn: &mut PgConnection, payment: &Payment) -> sqlx::Result<()> {
    sqlx::query(
        "insert into payment (id, order_id, customer_id, amount, status, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(payment.id)
    .bind(payment.order_id)
    .bind(&payment.customer_id)
    .bind(payment.amount)
    .bind(payment.status.as_str())
    .bind(payment.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The order's payment, locked for update when `lock` is set.
pub async fn by_order(
    executor: impl PgExecutor<'_>,
    order_id: Uuid,
    lock: bool,
) -> sqlx::Result<Option<Payment>> {
    let sql = format!(
        "select {COLUMNS} from payment where order_id = $1{}",
        if lock { " for update" } else { "" }
    );
    sqlx::query_as::<_, Row>(&sql)
        .bind(order_id)
        .fetch_optional(executor)
        .await?
        .map(Payment::try_from)
        .transpose()
}

pub async fn set_status(
    conn: &mut PgConnection,
    id: Uuid,
    status: PaymentStatus,
) -> sqlx::Result<()> {
    sqlx::query("update payment set status = $2, updated_at = now() where id = $1")
        .bind(id)
        .bind(status.as_str())
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

#[derive(sqlx::FromRow)]
struct AdjustmentRow {
    change_id: Uuid,
    order_id: Uuid,
    customer_id: String,
    amount: i64,
    status: String,
    confirmed: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<AdjustmentRow> for Adjustment {
    type Error = sqlx::Error;

    fn try_from(row: AdjustmentRow) -> Result<Self, Self::Error> {
        Ok(Adjustment {
            change_id: row.change_id,
            order_id: row.order_id,
            customer_id: row.customer_id,
            amount: row.amount,
            status: row.status.parse().map_err(|_| {
                sqlx::Error::Decode(format!("unknown adjustment status {:?}", row.status).into())
            })?,
            confirmed: row.confirmed,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// The order's adjustments, oldest first.
pub async fn adjustments(
    executor: impl PgExecutor<'_>,
    order_id: Uuid,
) -> sqlx::Result<Vec<Adjustment>> {
    sqlx::query_as::<_, AdjustmentRow>(
        "select change_id, order_id, customer_id, amount, status, confirmed, created_at, updated_at
         from adjustment where order_id = $1 order by created_at, change_id",
    )
    .bind(order_id)
    .fetch_all(executor)
    .await?
    .into_iter()
    .map(Adjustment::try_from)
    .collect()
}

/// Stores the order's adjustments as the ledger holds them (new ones inserted, others
/// updated). The caller holds the order's lock.
pub async fn save_adjustments(
    conn: &mut PgConnection,
    adjustments: &[Adjustment],
) -> sqlx::Result<()> {
    for a in adjustments {
        sqlx::query(
            "insert into adjustment (change_id, order_id, customer_id, amount, status, confirmed,
                 created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $7)
             on conflict (change_id) do update
             set status = excluded.status, confirmed = excluded.confirmed, updated_at = now()
             where (adjustment.status, adjustment.confirmed)
                   is distinct from (excluded.status, excluded.confirmed)",
        )
        .bind(a.change_id)
        .bind(a.order_id)
        .bind(&a.customer_id)
        .bind(a.amount)
        .bind(a.status.as_str())
        .bind(a.confirmed)
        .bind(a.created_at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
