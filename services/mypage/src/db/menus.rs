//! Popular menus: an order count per menu item, changed by the count changes that order views
//! record (see [`crate::db::views`]).
//!
//! Applying a change exactly once without multi-document transactions: each menu document keeps,
//! per counter and per partition of the order topic, the offset of the last change it took
//! (`marks.<counter>.p<partition>`), and takes changes only from later offsets, in the same
//! single-document update as the `$inc` (a batch's changes for one menu item and partition
//! together, or none of them). Kafka hands one partition to one consumer at a time, in
//! order, so a redelivered change is never taken twice and a new one is never skipped. The
//! document stays small: its size depends on the number of partitions, not of orders.

use std::collections::BTreeMap;

use mongodb::bson::{Document, doc};
use mongodb::options::{FindOptions, UpdateOptions};
use uuid::Uuid;

use crate::db::store::{Views, ignore_duplicate_key};
use crate::db::views::CountChange;
use crate::domain::{OrderView, menu_items};

/// Who applies count changes to a generation. The live consumer and a rebuild both write to a
/// generation being built, from different ranges of offsets, so each keeps its own marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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

/// A count change for a menu item's counter to take: from `view`'s order, as `counter`.
pub struct Take<'a> {
    pub counter: Counter,
    pub view: &'a OrderView,
    pub change: &'a CountChange,
}

/// Count changes summed in memory and written once: how a rebuild counts, since it reads
/// history once, up to fixed offsets, into a generation nobody reads yet.
#[derive(Debug, Default)]
pub struct Tally {
    menus: BTreeMap<Uuid, Total>,
}

#[derive(Debug)]
struct Total {
    store_id: String,
    name: String,
    count: i64,
}

impl Tally {
    pub fn add(&mut self, take: &Take<'_>) {
        for (menu_item_id, name) in menu_items(take.view) {
            let total = self.menus.entry(menu_item_id).or_insert_with(|| Total {
                store_id: store_of(take.view),
                name: name.to_owned(),
                count: 0,
            });
            total.count += take.change.delta;
        }
    }
}

/// A counter, a menu item, a partition.
type GroupKey = (Counter, Uuid, i32);

/// The changes of a batch for one menu item, one counter and one partition, in offset order.
struct Group {
    store_id: String,
    name: String,
    changes: Vec<(i64, i64)>,
}

impl Views {
    /// Applies count changes, each once: for each menu item, counter and partition, the
    /// batch's changes together in one conditional update; several menu items at a time, each
    /// menu item's updates one after the other.
    pub async fn count_all(&self, takes: &[Take<'_>], concurrency: usize) -> anyhow::Result<()> {
        use futures::{StreamExt, TryStreamExt};
        let mut groups: BTreeMap<GroupKey, Group> = BTreeMap::new();
        for take in takes {
            for (menu_item_id, name) in menu_items(take.view) {
                let key = (take.counter, menu_item_id, take.change.at.partition);
                groups
                    .entry(key)
                    .or_insert_with(|| Group {
                        store_id: store_of(take.view),
                        name: name.to_owned(),
                        changes: Vec::new(),
                    })
                    .changes
                    .push((take.change.at.offset, take.change.delta));
            }
        }
        // One task per menu item: FerretDB 1.x updates a document by reading it, then writing
        // it back, so two updates of one document at once could lose one.
        let mut by_menu: BTreeMap<Uuid, Vec<(GroupKey, Group)>> = BTreeMap::new();
        for (key, group) in groups {
            by_menu.entry(key.1).or_default().push((key, group));
        }
        futures::stream::iter(by_menu.into_values())
            .map(|groups| async move {
                for (key, group) in groups {
                    self.count_group(key, group).await?;
                }
                anyhow::Ok(())
            })
            .buffer_unordered(concurrency.max(1))
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    async fn count_group(
        &self,
        (counter, menu_item_id, partition): GroupKey,
        group: Group,
    ) -> anyhow::Result<()> {
        let id = menu_item_id.to_string();
        let mark = format!("marks.{}.p{partition}", counter.as_str());
        let (Some(&(first, _)), Some(&(last, _))) = (group.changes.first(), group.changes.last())
        else {
            return Ok(());
        };
        let total = group.changes.iter().map(|(_, delta)| delta).sum();
        if self.take(&id, &mark, first, last, total).await? {
            return Ok(());
        }
        if self.create_menu(&id, &group.store_id, &group.name).await?
            && self.take(&id, &mark, first, last, total).await?
        {
            return Ok(());
        }
        // Some of them were taken already (the batch is being retried): one at a time.
        for (offset, delta) in group.changes {
            self.take(&id, &mark, offset, offset, delta).await?;
        }
        Ok(())
    }

    /// Adds a rebuild's tally to the counts, once: a retry after a failure skips the menu items
    /// already done.
    pub async fn add_tally(&self, tally: &Tally, concurrency: usize) -> anyhow::Result<()> {
        use futures::{StreamExt, TryStreamExt};
        let mark = format!("marks.{}.tally", Counter::Rebuild.as_str());
        futures::stream::iter(&tally.menus)
            .map(|(menu_item_id, total)| {
                let (id, mark) = (menu_item_id.to_string(), &mark);
                async move {
                    if !self.take(&id, mark, 1, 1, total.count).await? {
                        self.create_menu(&id, &total.store_id, &total.name).await?;
                        self.take(&id, mark, 1, 1, total.count).await?;
                    }
                    anyhow::Ok(())
                }
            })
            .buffer_unordered(concurrency.max(1))
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    /// Adds `delta` to the menu item's count and moves its `mark` to `to`, if the mark is below
    /// `from`. `true` if it did.
    async fn take(
        &self,
        id: &str,
        mark: &str,
        from: i64,
        to: i64,
        delta: i64,
    ) -> anyhow::Result<bool> {
        let not_yet = doc! {
            "_id": id,
            "$or": [ { mark: { "$exists": false } }, { mark: { "$lt": from } } ],
        };
        let update = doc! { "$inc": { "orderCount": delta }, "$set": { mark: to } };
        Ok(self.menus.update_one(not_yet, update).await?.matched_count == 1)
    }

    /// Creates the menu item's document if missing; `true` if it was missing.
    async fn create_menu(&self, id: &str, store_id: &str, name: &str) -> anyhow::Result<bool> {
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

fn store_of(view: &OrderView) -> String {
    view.store_id.map(|s| s.to_string()).unwrap_or_default()
}
