//! Each store's rating as the review service last published it (`StoreRatingChanged`), one
//! document per store, outside the generations of order views: a rebuild of the views neither
//! needs nor touches it (the ratings are not derived from order events).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{self, Document, doc};
use mongodb::options::UpdateOptions;

use crate::db::store::{Store, ignore_duplicate_key};

const RATINGS: &str = "store_ratings";

/// A store's rating: how many reviews it has and their average in hundredths of a star.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreRating {
    pub review_count: u32,
    pub average_rating: u32,
}

impl Store {
    /// Keeps `rating` for `store_id` unless a rating computed later is kept already (a replayed
    /// older one changes nothing). `false` when it was not newer.
    pub async fn record_rating(
        &self,
        store_id: &str,
        rating: StoreRating,
        at: DateTime<Utc>,
    ) -> mongodb::error::Result<bool> {
        let at = bson::DateTime::from_millis(at.timestamp_millis());
        let ratings = self.database().collection::<Document>(RATINGS);
        // Matches the store's document only if it is older; with none, the upsert inserts it,
        // and with a newer one the insert collides with its `_id` (nothing written).
        let filter = doc! { "_id": store_id, "at": { "$lt": at } };
        let update = doc! { "$set": {
            "reviewCount": i64::from(rating.review_count),
            "averageRating": i64::from(rating.average_rating),
            "at": at,
        } };
        match ratings
            .update_one(filter, update)
            .with_options(UpdateOptions::builder().upsert(true).build())
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => ignore_duplicate_key(e).map(|()| false),
        }
    }

    /// The ratings of `store_ids` that have one.
    pub async fn ratings_of(
        &self,
        store_ids: &[String],
    ) -> mongodb::error::Result<HashMap<String, StoreRating>> {
        if store_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let ratings = self.database().collection::<Document>(RATINGS);
        let found: Vec<Document> = ratings
            .find(doc! { "_id": { "$in": store_ids } })
            .await?
            .try_collect()
            .await?;
        let count = |d: &Document, key: &str| {
            d.get_i64(key)
                .ok()
                .or_else(|| d.get_i32(key).ok().map(i64::from))
                .and_then(|n| u32::try_from(n).ok())
        };
        Ok(found
            .iter()
            .filter_map(|d| {
                let rating = StoreRating {
                    review_count: count(d, "reviewCount")?,
                    average_rating: count(d, "averageRating")?,
                };
                Some((d.get_str("_id").ok()?.to_owned(), rating))
            })
            .collect())
    }
}
