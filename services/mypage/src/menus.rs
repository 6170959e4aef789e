//! Popular menus: an order count per menu item, changed by the count changes that order views
//! record (see [`crate::views`]).
//!
//! Applying a change exactly once without multi-document transactions: each menu document keeps,
//! per counter and per partition of the order topic, the offset of the last change it took
//! (`marks.<counter>.p<partition>`), and takes a change only from a later offset, in the same
//! single-document update as the `$inc`. Kafka hands one partition to one consumer at a time, in
//! order, so a redelivered change is never taken twice and a new one is never skipped. The
//! document stays small: its size depends on the number of partitions, not of orders.

use mongodb::bson::{Document, doc};
use mongodb::options::{FindOptions, UpdateOptions};

use crate::domain::{OrderView, menu_items};
use crate::store::{Views, ignore_duplicate_key};
use crate::views::CountChange;

/// Who applies count changes to a generation. The live consumer and a rebuild both write to a
/// generation being built, from different ranges of offsets, so each keeps its own marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    Live,
    Rebuild,
}

impl Counter {
    fn as_str(self) -> &'static str {
        match self {
            Counter::Live => "live",
            Counter::Rebuild => "rebuild",
        }
    }
}

impl Views {
    /// Applies `change` to the counts of every menu item of `view`'s order, once.
    pub async fn count(
        &self,
        view: &OrderView,
        change: &CountChange,
        counter: Counter,
    ) -> anyhow::Result<()> {
        let mark = format!("marks.{}.p{}", counter.as_str(), change.at.partition);
        let mark = mark.as_str();
        let offset = change.at.offset;
        for (menu_item_id, name) in menu_items(view) {
            let id = menu_item_id.to_string();
            let not_yet = doc! {
                "_id": &id,
                "$or": [ { mark: { "$exists": false } }, { mark: { "$lt": offset } } ],
            };
            let update = doc! { "$inc": { "orderCount": change.delta }, "$set": { mark: offset } };
            if self
                .menus
                .update_one(not_yet.clone(), update.clone())
                .await?
                .matched_count
                == 1
            {
                continue;
            }
            // Either the change was taken already, or the menu item has no document yet.
            if self.create_menu(&id, view, name).await? {
                self.menus.update_one(not_yet, update).await?;
            }
        }
        Ok(())
    }

    /// Creates the menu item's document if missing; `true` if it was missing.
    async fn create_menu(&self, id: &str, view: &OrderView, name: &str) -> anyhow::Result<bool> {
        let store_id = view.store_id.map(|s| s.to_string()).unwrap_or_default();
        let insert =
            doc! { "$setOnInsert": { "storeId": store_id, "name": name, "orderCount": 0_i64 } };
        let created = self
            .menus
            .update_one(doc! { "_id": id }, insert)
            .with_options(UpdateOptions::builder().upsert(true).build())
            .await
            .map(|r| r.upserted_id.is_some());
        // Created concurrently by someone else: it exists now, and the retry decides.
        Ok(created.or_else(|e| ignore_duplicate_key(e).map(|()| true))?)
    }

    /// Menu items by order count, highest first: `(menuItemId, storeId, name, orderCount)`.
    pub async fn popular(&self, limit: i64) -> anyhow::Result<Vec<(String, String, String, i64)>> {
        use futures::TryStreamExt;
        let options = FindOptions::builder()
            .sort(doc! { "orderCount": -1, "_id": 1 })
            .limit(limit)
            .projection(doc! { "storeId": 1, "name": 1, "orderCount": 1 })
            .build();
        let found: Vec<Document> = self
            .menus
            .find(doc! { "orderCount": { "$gt": 0_i64 } })
            .with_options(options)
            .await?
            .try_collect()
            .await?;
        Ok(found
            .iter()
            .map(|d| {
                let text = |k| d.get_str(k).unwrap_or_default().to_owned();
                let count = d
                    .get_i64("orderCount")
                    .or_else(|_| d.get_i32("orderCount").map(i64::from));
                (
                    text("_id"),
                    text("storeId"),
                    text("name"),
                    count.unwrap_or(0),
                )
            })
            .collect())
    }
}
