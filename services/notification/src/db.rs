//! Notification queries.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::Notification;

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    event_id: Uuid,
    customer_id: String,
    order_id: Uuid,
    event_type: String,
    message: String,
    channel: String,
    status: String,
    attempts: i32,
    created_at: DateTime<Utc>,
}

impl TryFrom<Row> for Notification {
    type Error = sqlx::Error;

    fn try_from(row: Row) -> Result<Self, Self::Error> {
        Ok(Notification {
            id: row.id,
            event_id: row.event_id,
            customer_id: row.customer_id,
            order_id: row.order_id,
            event_type: row.event_type,
            message: row.message,
            channel: row.channel,
            status: row.status.parse().map_err(|_| {
                sqlx::Error::Decode(format!("unknown notification status {:?}", row.status).into())
            })?,
            attempts: row.attempts,
            created_at: row.created_at,
        })
    }
}

const COLUMNS: &str = "id, event_id, customer_id, order_id, event_type, message, channel, status, attempts, created_at";

/// Inserts `notification` unless its event already has one; `true` if inserted.
#[tracing::instrument(skip_all, fields(event.id = %notification.event_id))]
pub async fn insert_pending(
    conn: &mut PgConnection,
    notification: &Notification,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "insert into notification
             (id, event_id, customer_id, order_id, event_type, message, channel, status, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         on conflict on constraint notification_event_id do nothing",
    )
    .bind(notification.id)
    .bind(notification.event_id)
    .bind(&notification.customer_id)
    .bind(notification.order_id)
    .bind(&notification.event_type)
    .bind(&notification.message)
    .bind(&notification.channel)
    .bind(notification.status.as_str())
    .bind(notification.created_at)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Up to `limit` notifications due for a (re)send, locked so that another replica's
/// dispatcher skips them.
pub async fn lock_due(
    conn: &mut PgConnection,
    max_attempts: i32,
    limit: i64,
) -> sqlx::Result<Vec<Notification>> {
    let sql = format!(
        "select {COLUMNS} from notification
         where status <> 'Sent' and attempts < $1 and next_attempt_at <= now()
         order by next_attempt_at, created_at
         limit $2
         for update skip locked"
    );
    sqlx::query_as::<_, Row>(&sql)
        .bind(max_attempts)
        .bind(limit)
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(Notification::try_from)
        .collect()
}

pub async fn mark_sent(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<()> {
    sqlx::query(
        "update notification set status = 'Sent', attempts = attempts + 1, last_error = null,
             updated_at = now() where id = $1",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a failed attempt; the next one is due after `retry_in`.
pub async fn mark_failed(
    conn: &mut PgConnection,
    id: Uuid,
    error: &str,
    retry_in: std::time::Duration,
) -> sqlx::Result<()> {
    sqlx::query(
        "update notification set status = 'Failed', attempts = attempts + 1, last_error = $2,
             next_attempt_at = now() + make_interval(secs => $3), updated_at = now()
         where id = $1",
    )
    .bind(id)
    .bind(error)
    .bind(retry_in.as_secs_f64())
    .execute(conn)
    .await?;
    Ok(())
}

/// The customer's notifications (everyone's for `None`), newest first.
pub async fn list(
    executor: impl PgExecutor<'_>,
    customer_id: Option<&str>,
) -> sqlx::Result<Vec<Notification>> {
    let sql = format!(
        "select {COLUMNS} from notification
         where $1::text is null or customer_id = $1
         order by created_at desc, id desc
         limit 500"
    );
    sqlx::query_as::<_, Row>(&sql)
        .bind(customer_id)
        .fetch_all(executor)
        .await?
        .into_iter()
        .map(Notification::try_from)
        .collect()
}
