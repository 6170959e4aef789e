//! The read model in MongoDB: order views, menu counts, and the pointer to the generation of
//! collections that is live.
//!
//! Writes use only single-document operations that MongoDB and FerretDB both support (no
//! transactions, no update pipelines): a view is read, merged in Rust, and replaced only if its
//! `revision` is unchanged (optimistic concurrency); menu counts change by conditional updates
//! on sets of order ids, so each order is counted at most once and uncounted at most once.

use anyhow::Context;
use mongodb::bson::{self, Bson, Document, doc};
use mongodb::options::{ClientOptions, FindOptions, ReplaceOptions, UpdateOptions};
use mongodb::{Client, Collection, Database};
use uuid::Uuid;

use crate::domain::{Merged, OrderView, merge};
use shared_events::{Envelope, OrderLine};

const POINTER: &str = "projection";
const POINTER_ID: &str = "mypage";

/// The MongoDB database of the read model.
#[derive(Clone)]
pub struct Store {
    db: Database,
}

/// Which collections are live, and which are being rebuilt (written to as well, meanwhile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generations {
    pub active: String,
    pub building: Option<String>,
}

/// One generation's collections.
#[derive(Clone)]
pub struct Views {
    pub orders: Collection<Document>,
    pub menus: Collection<Document>,
}

impl Store {
    /// Connects lazily: the process starts and reports not-ready while MongoDB is down.
    pub async fn connect(url: &str, database: &str) -> anyhow::Result<Self> {
        let mut options = ClientOptions::parse(url)
            .await
            .context("MONGODB_URL is invalid")?;
        options.app_name = Some("mypage".to_owned());
        options.server_selection_timeout = Some(std::time::Duration::from_secs(5));
        let client = Client::with_options(options).context("cannot create MongoDB client")?;
        Ok(Self {
            db: client.database(database),
        })
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub async fn ping(&self) -> mongodb::error::Result<()> {
        self.db.run_command(doc! { "ping": 1 }).await.map(|_| ())
    }

    fn pointer(&self) -> Collection<Document> {
        self.db.collection(POINTER)
    }

    pub fn views(&self, generation: &str) -> Views {
        Views {
            orders: self.db.collection(&format!("order_view_{generation}")),
            menus: self.db.collection(&format!("popular_menu_{generation}")),
        }
    }

    /// The live generations; creates the first one on a fresh database.
    pub async fn generations(&self) -> mongodb::error::Result<Generations> {
        let filter = doc! { "_id": POINTER_ID };
        let initial = doc! { "$setOnInsert": { "active": "g0" } };
        self.pointer()
            .update_one(filter.clone(), initial)
            .with_options(UpdateOptions::builder().upsert(true).build())
            .await
            .map(|_| ())
            .or_else(ignore_duplicate_key)?;
        let pointer = self.pointer().find_one(filter).await?.unwrap_or_default();
        Ok(Generations {
            active: pointer.get_str("active").unwrap_or("g0").to_owned(),
            building: pointer.get_str("building").ok().map(str::to_owned),
        })
    }

    /// Points `building` at a generation being rebuilt (or at none).
    pub async fn set_building(&self, generation: Option<&str>) -> mongodb::error::Result<()> {
        let building = generation.map_or(Bson::Null, |g| Bson::String(g.to_owned()));
        self.pointer()
            .update_one(
                doc! { "_id": POINTER_ID },
                doc! { "$set": { "building": building } },
            )
            .await
            .map(|_| ())
    }

    /// Makes `generation` the live one.
    pub async fn activate(&self, generation: &str) -> mongodb::error::Result<()> {
        self.pointer()
            .update_one(
                doc! { "_id": POINTER_ID },
                doc! { "$set": { "active": generation, "building": Bson::Null } },
            )
            .await
            .map(|_| ())
    }

    /// Creates the indexes of a generation's collections.
    pub async fn prepare(&self, generation: &str) -> mongodb::error::Result<()> {
        let views = self.views(generation);
        let index = mongodb::IndexModel::builder()
            .keys(doc! { "customerId": 1 })
            .build();
        views.orders.create_index(index).await?;
        Ok(())
    }
}

impl Views {
    /// Folds `envelope` into its order's view. Returns the merge outcome and the view as stored
    /// afterwards (also for a duplicate, so that follow-up effects can be re-checked).
    pub async fn apply(&self, envelope: &Envelope) -> anyhow::Result<(Merged, Option<OrderView>)> {
        let Some(order_id) = envelope.event.order_id() else {
            return Ok((Merged::Ignored, None));
        };
        loop {
            let stored = self
                .orders
                .find_one(doc! { "_id": order_id.to_string() })
                .await?;
            let revision = stored.as_ref().and_then(|d| d.get_i64("revision").ok());
            let current = stored.map(decode).transpose()?;
            let merged = merge(current.clone(), envelope);
            let Merged::Changed(view) = &merged else {
                return Ok((merged, current));
            };
            let mut document = encode(view)?;
            document.insert("revision", revision.unwrap_or(0) + 1);
            let written = match revision {
                None => self
                    .orders
                    .insert_one(document)
                    .await
                    .map(|_| true)
                    .or_else(|e| ignore_duplicate_key(e).map(|()| false))?,
                Some(revision) => {
                    let filter = doc! { "_id": order_id.to_string(), "revision": revision };
                    let result = self
                        .orders
                        .replace_one(filter, document)
                        .with_options(ReplaceOptions::default())
                        .await?;
                    result.matched_count == 1
                }
            };
            if written {
                let view = view.clone();
                return Ok((merged, Some(view)));
            }
            tracing::debug!(order.id = %order_id, "view changed concurrently; merging again");
        }
    }

    /// Counts the order for each of its items once it is placed, and uncounts it once it is
    /// canceled. Idempotent, and correct in any order: the sets of placed and canceled order ids
    /// only grow, and each count change is conditional on the set it changes.
    pub async fn count_menus(&self, view: &OrderView) -> anyhow::Result<()> {
        let order = view.order_id.to_string();
        for item in &view.items {
            let id = doc! { "_id": item.menu_item_id.to_string() };
            self.ensure_menu(view, item).await?;
            if view.placed() {
                self.mark(&id, &order, "placed", "canceled", 1).await?;
            }
            if view.canceled() {
                self.mark(&id, &order, "canceled", "placed", -1).await?;
            }
        }
        Ok(())
    }

    async fn ensure_menu(&self, view: &OrderView, item: &OrderLine) -> anyhow::Result<()> {
        let store_id = view.store_id.map(|s| s.to_string()).unwrap_or_default();
        let insert = doc! { "$setOnInsert": {
            "storeId": store_id, "name": &item.name, "orderCount": 0_i64,
            "placed": [], "canceled": [],
        } };
        self.menus
            .update_one(doc! { "_id": item.menu_item_id.to_string() }, insert)
            .with_options(UpdateOptions::builder().upsert(true).build())
            .await
            .map(|_| ())
            .or_else(ignore_duplicate_key)?;
        Ok(())
    }

    /// Adds `order` to the `set` of the menu item; changes the count by `delta` only when the
    /// order is (for +1: not) in the `other` set. For -1 it must already be placed.
    async fn mark(
        &self,
        id: &Document,
        order: &str,
        set: &str,
        other: &str,
        delta: i64,
    ) -> anyhow::Result<()> {
        let mut counted = id.clone();
        counted.insert(set, doc! { "$ne": order });
        if delta > 0 {
            counted.insert(other, doc! { "$ne": order });
        } else {
            counted.insert(other, order);
        }
        let update = doc! { "$push": { set: order }, "$inc": { "orderCount": delta } };
        if self.menus.update_one(counted, update).await?.matched_count == 1 {
            return Ok(());
        }
        let mut uncounted = id.clone();
        uncounted.insert(set, doc! { "$ne": order });
        self.menus
            .update_one(uncounted, doc! { "$push": { set: order } })
            .await?;
        Ok(())
    }

    pub async fn view(&self, order_id: Uuid) -> anyhow::Result<Option<OrderView>> {
        let found = self
            .orders
            .find_one(doc! { "_id": order_id.to_string() })
            .await?;
        found.map(decode).transpose()
    }

    pub async fn views_of(&self, customer_id: &str) -> anyhow::Result<Vec<OrderView>> {
        use futures::TryStreamExt;
        let found: Vec<Document> = self
            .orders
            .find(doc! { "customerId": customer_id })
            .await?
            .try_collect()
            .await?;
        let mut views = found
            .into_iter()
            .map(decode)
            .collect::<anyhow::Result<Vec<_>>>()?;
        views.sort_by(|a, b| {
            b.updated_at
                .cmp(&a.updated_at)
                .then(b.order_id.cmp(&a.order_id))
        });
        Ok(views)
    }

    /// Menu items by order count, highest first: `(menuItemId, storeId, name, orderCount)`.
    pub async fn popular(&self, limit: i64) -> anyhow::Result<Vec<(String, String, String, i64)>> {
        use futures::TryStreamExt;
        let options = FindOptions::builder()
            .sort(doc! { "orderCount": -1, "_id": 1 })
            .limit(limit)
            .projection(doc! { "placed": 0, "canceled": 0 })
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

/// The view as a document: its JSON shape, keyed by order id.
fn encode(view: &OrderView) -> anyhow::Result<Document> {
    let json = serde_json::to_value(view)?;
    let mut document = bson::to_document(&json)?;
    document.insert("_id", view.order_id.to_string());
    Ok(document)
}

fn decode(mut document: Document) -> anyhow::Result<OrderView> {
    document.remove("_id");
    document.remove("revision");
    let json = Bson::Document(document).into_relaxed_extjson();
    Ok(serde_json::from_value(json)?)
}

/// A concurrent insert of the same `_id` won: fine, the caller re-reads.
fn ignore_duplicate_key(e: mongodb::error::Error) -> mongodb::error::Result<()> {
    use mongodb::error::{ErrorKind, WriteFailure};
    let duplicate = match &*e.kind {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == 11000,
        ErrorKind::Command(c) => c.code == 11000,
        _ => false,
    };
    if duplicate { Ok(()) } else { Err(e) }
}
