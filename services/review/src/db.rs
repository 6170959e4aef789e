//! Review queries, one small function each, on a connection or transaction the caller holds.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::{OrderFacts, Rating, Review};

pub use service_runtime::clock::now;

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    order_id: Uuid,
    store_id: Uuid,
    customer_id: String,
    rating: i16,
    text: String,
    reply: Option<String>,
    replied_at: Option<DateTime<Utc>>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<Row> for Review {
    type Error = sqlx::Error;

    fn try_from(row: Row) -> Result<Self, Self::Error> {
        Ok(Review {
            id: row.id,
            order_id: row.order_id,
            store_id: row.store_id,
            customer_id: row.customer_id,
            rating: Rating::parse(row.rating.into())
                .map_err(|e| sqlx::Error::Decode(format!("rating {}: {e}", row.rating).into()))?,
            text: row.text,
            reply: row.reply,
            replied_at: row.replied_at,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

const COLUMNS: &str = "id, order_id, store_id, customer_id, rating, text, reply, replied_at, \
                       version, created_at, updated_at";

/// Records an order placed (idempotent).
pub async fn record_order(
    conn: &mut PgConnection,
    order_id: Uuid,
    customer_id: &str,
    store_id: Uuid,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into ordered (order_id, customer_id, store_id) values ($1, $2, $3)
         on conflict do nothing",
    )
    .bind(order_id)
    .bind(customer_id)
    .bind(store_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records an order delivered (idempotent).
pub async fn record_delivery(conn: &mut PgConnection, order_id: Uuid) -> sqlx::Result<()> {
    sqlx::query("insert into delivered (order_id) values ($1) on conflict do nothing")
        .bind(order_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records a store's owner (idempotent).
pub async fn record_store(
    conn: &mut PgConnection,
    store_id: Uuid,
    owner_id: &str,
    name: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into store_owner (store_id, owner_id, name) values ($1, $2, $3)
         on conflict do nothing",
    )
    .bind(store_id)
    .bind(owner_id)
    .bind(name)
    .execute(conn)
    .await?;
    Ok(())
}

/// What is known of the order, if its `OrderPlaced` has been read.
pub async fn order_facts(
    conn: &mut PgConnection,
    order_id: Uuid,
) -> sqlx::Result<Option<OrderFacts>> {
    let row: Option<(String, Uuid, bool)> = sqlx::query_as(
        "select o.customer_id, o.store_id, d.order_id is not null
         from ordered o left join delivered d on d.order_id = o.order_id
         where o.order_id = $1",
    )
    .bind(order_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(customer_id, store_id, delivered)| OrderFacts {
        order_id,
        customer_id,
        store_id,
        delivered,
    }))
}

/// The owner of the store, if its `StoreRegistered` has been read.
pub async fn owner_of(conn: &mut PgConnection, store_id: Uuid) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("select owner_id from store_owner where store_id = $1")
        .bind(store_id)
        .fetch_optional(conn)
        .await
}

/// Serializes the changes of one store's reviews, so that the ratings published for it are
/// computed and enqueued in the order their transactions commit.
pub async fn lock_store(conn: &mut PgConnection, store_id: Uuid) -> sqlx::Result<()> {
    sqlx::query("select pg_advisory_xact_lock(hashtextextended('review.store:' || $1::text, 0))")
        .bind(store_id)
        .execute(conn)
        .await?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(order.id = %review.order_id, review.id = %review.id))]
pub async fn insert(conn: &mut PgConnection, review: &Review) -> sqlx::Result<()> {
    sqlx::query(
        "insert into review (id, order_id, store_id, customer_id, rating, text, version,
             created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(review.id)
    .bind(review.order_id)
    .bind(review.store_id)
    .bind(&review.customer_id)
    .bind(i16::from(review.rating.stars()))
    .bind(&review.text)
    .bind(review.version)
    .bind(review.created_at)
    .bind(review.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all, fields(review.id = %review.id))]
pub async fn save(conn: &mut PgConnection, review: &Review) -> sqlx::Result<()> {
    sqlx::query(
        "update review set rating = $2, text = $3, reply = $4, replied_at = $5, version = $6,
             updated_at = $7
         where id = $1",
    )
    .bind(review.id)
    .bind(i16::from(review.rating.stars()))
    .bind(&review.text)
    .bind(&review.reply)
    .bind(review.replied_at)
    .bind(review.version)
    .bind(review.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The store a review is of.
pub async fn store_of(executor: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar("select store_id from review where id = $1")
        .bind(id)
        .fetch_optional(executor)
        .await
}

/// The review, locked for update.
pub async fn for_update(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<Review>> {
    let sql = format!("select {COLUMNS} from review where id = $1 for update");
    let row = sqlx::query_as::<_, Row>(&sql)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(Review::try_from).transpose()
}

/// The reviews of a store, newest first, or of an order (one at most).
pub async fn list(
    executor: impl PgExecutor<'_>,
    store_id: Option<Uuid>,
    order_id: Option<Uuid>,
) -> sqlx::Result<Vec<Review>> {
    let sql = format!(
        "select {COLUMNS} from review
         where ($1::uuid is null or store_id = $1) and ($2::uuid is null or order_id = $2)
         order by created_at desc, id desc"
    );
    sqlx::query_as::<_, Row>(&sql)
        .bind(store_id)
        .bind(order_id)
        .fetch_all(executor)
        .await?
        .into_iter()
        .map(Review::try_from)
        .collect()
}

/// How many reviews the store has, and the sum of their ratings.
pub async fn rating_of(conn: &mut PgConnection, store_id: Uuid) -> sqlx::Result<(u32, u64)> {
    let (count, sum): (i64, i64) = sqlx::query_as(
        "select count(*), coalesce(sum(rating), 0)::bigint from review where store_id = $1",
    )
    .bind(store_id)
    .fetch_one(conn)
    .await?;
    let count = u32::try_from(count).map_err(|e| sqlx::Error::Decode(e.into()))?;
    let sum = u64::try_from(sum).map_err(|e| sqlx::Error::Decode(e.into()))?;
    Ok((count, sum))
}
