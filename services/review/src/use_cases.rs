//! What customers and owners do with reviews, independent of HTTP: each command opens its
//! transaction, applies the domain's rule and commits the change with its events.

use std::time::Duration;

use backbone::outbox;
use shared_events::{Envelope, Event};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::db;
use crate::domain::{
    self, ChangeRefusal, InvalidRating, InvalidText, Rating, Refusal, Review, Text,
};
use crate::events::SOURCE;

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("no review {0}")]
    NotFound(Uuid),
    #[error(transparent)]
    InvalidRating(#[from] InvalidRating),
    #[error(transparent)]
    InvalidText(#[from] InvalidText),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("the order is already reviewed")]
    AlreadyReviewed,
    #[error(transparent)]
    Change(#[from] ChangeRefusal),
    #[error("the review is at version {current}, not {expected}")]
    StaleVersion { expected: i32, current: i32 },
    #[error("database: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for ReviewError {
    fn from(e: sqlx::Error) -> Self {
        match e.as_database_error().and_then(|d| d.constraint()) {
            Some("review_order_id") => ReviewError::AlreadyReviewed,
            _ => ReviewError::Database(e),
        }
    }
}

/// The customer's review of a delivered order of theirs, posted with `ReviewPosted` and the
/// store's new rating.
pub async fn post(
    pool: &PgPool,
    customer_id: &str,
    order_id: Uuid,
    rating: Rating,
    text: Text,
) -> Result<Review, ReviewError> {
    let mut tx = pool.begin().await?;
    let order = db::order_facts(&mut tx, order_id).await?;
    let (review, posted) = domain::post(
        order.as_ref(),
        order_id,
        customer_id,
        rating,
        text,
        db::now(),
    )?;
    db::lock_store(&mut tx, review.store_id).await?;
    db::insert(&mut tx, &review).await?;
    outbox::enqueue(&mut tx, &Envelope::new(SOURCE, posted)).await?;
    enqueue_rating(&mut tx, review.store_id).await?;
    outbox::commit(tx).await?;
    tracing::info!(order.id = %order_id, review.id = %review.id, store.id = %review.store_id, "review posted");
    Ok(review)
}

/// The author's new rating and text, within the edit window; `expected_version`, if given,
/// must be the review's current one.
pub async fn edit(
    pool: &PgPool,
    customer_id: &str,
    review_id: Uuid,
    expected_version: Option<i32>,
    (rating, text): (Rating, Text),
    window: Duration,
) -> Result<Review, ReviewError> {
    let mut tx = pool.begin().await?;
    let store_id = db::store_of(&mut *tx, review_id)
        .await?
        .ok_or(ReviewError::NotFound(review_id))?;
    db::lock_store(&mut tx, store_id).await?;
    let mut review = db::for_update(&mut tx, review_id)
        .await?
        .ok_or(ReviewError::NotFound(review_id))?;
    if let Some(expected) = expected_version.filter(|v| *v != review.version) {
        return Err(ReviewError::StaleVersion {
            expected,
            current: review.version,
        });
    }
    let previous = review.rating;
    let edited = review.edit(customer_id, rating, text, window, db::now())?;
    db::save(&mut tx, &review).await?;
    outbox::enqueue(&mut tx, &Envelope::new(SOURCE, edited)).await?;
    if review.rating != previous {
        enqueue_rating(&mut tx, store_id).await?;
    }
    outbox::commit(tx).await?;
    tracing::info!(review.id = %review.id, version = review.version, "review edited");
    Ok(review)
}

/// The store owner's reply (replacing any earlier one).
pub async fn reply(
    pool: &PgPool,
    owner_id: &str,
    review_id: Uuid,
    text: Text,
) -> Result<Review, ReviewError> {
    let mut tx = pool.begin().await?;
    let mut review = db::for_update(&mut tx, review_id)
        .await?
        .ok_or(ReviewError::NotFound(review_id))?;
    let owner = db::owner_of(&mut tx, review.store_id).await?;
    review.reply(owner_id, owner.as_deref(), text, db::now())?;
    db::save(&mut tx, &review).await?;
    tx.commit().await?;
    tracing::info!(review.id = %review.id, "review replied to");
    Ok(review)
}

/// The reviews of a store or of an order, newest first.
pub async fn list(
    pool: &PgPool,
    store_id: Option<Uuid>,
    order_id: Option<Uuid>,
) -> Result<Vec<Review>, ReviewError> {
    Ok(db::list(pool, store_id, order_id).await?)
}

/// The store's rating as it is in this transaction, to publish with the change that moved it.
async fn enqueue_rating(tx: &mut PgConnection, store_id: Uuid) -> Result<(), ReviewError> {
    let (count, sum) = db::rating_of(tx, store_id).await?;
    let rating = Event::from(domain::store_rating(store_id, count, sum));
    outbox::enqueue(tx, &Envelope::new(SOURCE, rating)).await?;
    Ok(())
}
