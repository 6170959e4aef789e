//! Notification queries.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::{Notification, Reader};

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    event_id: Uuid,
    recipient: String,
    customer_id: String,
    owner_id: Option<String>,
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
            recipient: row.recipient.parse().map_err(|_| {
                sqlx::Error::Decode(format!("unknown recipient {:?}", row.recipient).into())
            })?,
            customer_id: row.customer_id,
            owner_id: row.owner_id,
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

const COLUMNS: &str = "n.id, n.event_id, n.recipient, n.customer_id, s.owner_id, n.order_id,
    n.event_type, n.message, n.channel, n.status, n.attempts, n.created_at";

/// Notifications with the owner of their order's store, for an owner's notification once both
/// are known (the migration says why an owner is joined, never written).
const FROM: &str = "notification n
    left join order_store o on n.recipient = 'Owner' and o.order_id = n.order_id
    left join store_owner s on s.store_id = o.store_id";

/// Notifications that have a recipient: a customer's, or an owner's whose owner is known.
const ADDRESSED: &str = "(n.recipient = 'Customer' or s.owner_id is not null)";

/// Inserts `notification` unless its event already has one for its recipient; `true` if
/// inserted.
#[tracing::instrument(skip_all, fields(event.id = %notification.event_id, recipient = %notification.recipient))]
pub async fn insert_pending(
    conn: &mut PgConnection,
    notification: &Notification,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "insert into notification
             (id, event_id, recipient, customer_id, order_id, event_type, message, channel, status,
              created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         on conflict on constraint notification_event_recipient do nothing",
    )
    .bind(notification.id)
    .bind(notification.event_id)
    .bind(notification.recipient.as_str())
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

/// Remembers that `store_id` is owned by `owner_id` (once; a store keeps its owner).
pub async fn remember_store_owner(
    conn: &mut PgConnection,
    store_id: Uuid,
    owner_id: &str,
    name: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into store_owner (store_id, owner_id, name) values ($1, $2, $3)
         on conflict (store_id) do nothing",
    )
    .bind(store_id)
    .bind(owner_id)
    .bind(name)
    .execute(conn)
    .await?;
    Ok(())
}

/// Remembers that `order_id` was placed with `store_id` (once).
pub async fn remember_order_store(
    conn: &mut PgConnection,
    order_id: Uuid,
    store_id: Uuid,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into order_store (order_id, store_id) values ($1, $2)
         on conflict (order_id) do nothing",
    )
    .bind(order_id)
    .bind(store_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Up to `limit` notifications due for a (re)send, locked so that another replica's
/// dispatcher skips them. An owner's whose owner is not known yet is not due.
pub async fn lock_due(
    conn: &mut PgConnection,
    max_attempts: i32,
    limit: i64,
) -> sqlx::Result<Vec<Notification>> {
    let sql = format!(
        "select {COLUMNS} from {FROM}
         where n.status <> 'Sent' and n.attempts < $1 and n.next_attempt_at <= now()
           and {ADDRESSED}
         order by n.next_attempt_at, n.created_at
         limit $2
         for update of n skip locked"
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

/// The notifications `reader` sees, newest first.
pub async fn list(
    executor: impl PgExecutor<'_>,
    reader: Reader<'_>,
) -> sqlx::Result<Vec<Notification>> {
    let (filter, user_id) = match reader {
        Reader::Customer(id) => ("n.recipient = 'Customer' and n.customer_id = $1", Some(id)),
        Reader::Owner(id) => ("n.recipient = 'Owner' and s.owner_id = $1", Some(id)),
        Reader::Everyone => (ADDRESSED, None),
    };
    let sql = format!(
        "select {COLUMNS} from {FROM}
         where {filter}
         order by n.created_at desc, n.id desc
         limit 500"
    );
    let mut query = sqlx::query_as::<_, Row>(&sql);
    if let Some(user_id) = user_id {
        query = query.bind(user_id);
    }
    query
        .fetch_all(executor)
        .await?
        .into_iter()
        .map(Notification::try_from)
        .collect()
}
