//! The read model in MongoDB: the pointer to the generation of collections that is live, and
//! each generation's collections (order views in [`crate::db::views`], menu counts in
//! [`crate::db::menus`]).
//!
//! Writes use only single-document operations that MongoDB and FerretDB both support (no
//! transactions, no update pipelines). Every query filters on an indexed field: `_id`, or one
//! declared in [`Store::prepare`] (see the README for what FerretDB needs besides).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use async_trait::async_trait;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::{ClientOptions, UpdateOptions};
use mongodb::{Client, Collection, Database};
use service_runtime::ReadinessCheck;

use crate::db::recent::{Recent, Remembered};

const POINTER: &str = "projection";
const POINTER_ID: &str = "mypage";

/// How long a request may use the live generation it learnt of without asking again: well
/// under the grace a rebuild gives readers of the old one before dropping it.
const LIVE_FOR: Duration = Duration::from_secs(1);

/// The MongoDB database of the read model.
#[derive(Clone)]
pub struct Store {
    db: Database,
    /// The live generation as last read, and when: most requests need no lookup of their own.
    live: Arc<Mutex<Option<(Instant, String)>>>,
    recent: Arc<Recent>,
}

/// Which collections are live, and which are being rebuilt (written to as well, meanwhile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generations {
    pub active: String,
    pub building: Option<String>,
    /// Where the rebuild stops reading each partition of the order topic (known shortly after
    /// `building`): menu counts of the generation being built come from the rebuild below these
    /// offsets and from the live consumer at and above them.
    pub building_ends: Option<BTreeMap<i32, i64>>,
}

/// One generation's collections.
#[derive(Clone)]
pub struct Views {
    pub orders: Collection<Document>,
    pub menus: Collection<Document>,
    /// The views this process wrote last (of every generation).
    pub(crate) recent: Arc<Recent>,
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
            live: Arc::default(),
            recent: Arc::new(Recent::from(Remembered::default())),
        })
    }

    /// The same store, remembering as many views of those it writes as `remembered` says.
    pub fn remembering(self, remembered: Remembered) -> Self {
        Self {
            recent: Arc::new(Recent::from(remembered)),
            ..self
        }
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
            recent: self.recent.clone(),
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
        let building_ends = pointer.get_document("buildingEnds").ok().map(|ends| {
            ends.iter()
                .filter_map(|(partition, end)| Some((partition.parse().ok()?, end.as_i64()?)))
                .collect()
        });
        Ok(Generations {
            active: pointer.get_str("active").unwrap_or("g0").to_owned(),
            building: pointer.get_str("building").ok().map(str::to_owned),
            building_ends,
        })
    }

    /// The live generation's collections, for reading: the pointer is read (never written) at
    /// most once a second.
    pub async fn live(&self) -> mongodb::error::Result<Views> {
        if let Some((read_at, active)) =
            self.live.lock().unwrap_or_else(|e| e.into_inner()).as_ref()
            && read_at.elapsed() < LIVE_FOR
        {
            return Ok(self.views(active));
        }
        let pointer = self
            .pointer()
            .find_one(doc! { "_id": POINTER_ID })
            .await?
            .unwrap_or_default();
        let active = pointer.get_str("active").unwrap_or("g0").to_owned();
        let views = self.views(&active);
        *self.live.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), active));
        Ok(views)
    }

    /// Points `building` at a generation being rebuilt (or at none).
    pub async fn set_building(&self, generation: Option<&str>) -> mongodb::error::Result<()> {
        let building = generation.map_or(Bson::Null, |g| Bson::String(g.to_owned()));
        self.pointer()
            .update_one(
                doc! { "_id": POINTER_ID },
                doc! { "$set": { "building": building, "buildingEnds": Bson::Null } },
            )
            .await
            .map(|_| ())
    }

    /// Records where the rebuild stops in each partition of the order topic.
    pub async fn set_building_ends(&self, ends: &BTreeMap<i32, i64>) -> mongodb::error::Result<()> {
        let ends: Document = ends
            .iter()
            .map(|(partition, end)| (partition.to_string(), Bson::Int64(*end)))
            .collect();
        self.pointer()
            .update_one(
                doc! { "_id": POINTER_ID },
                doc! { "$set": { "buildingEnds": ends } },
            )
            .await
            .map(|_| ())
    }

    /// Makes `generation` the live one.
    pub async fn activate(&self, generation: &str) -> mongodb::error::Result<()> {
        self.pointer()
            .update_one(
                doc! { "_id": POINTER_ID },
                doc! { "$set": { "active": generation, "building": Bson::Null, "buildingEnds": Bson::Null } },
            )
            .await
            .map(|_| ())
    }

    /// Creates the indexes of a generation's collections (idempotent). Besides `_id`, the only
    /// fields mypage filters or sorts on: a customer's views, and menus by count.
    pub async fn prepare(&self, generation: &str) -> mongodb::error::Result<()> {
        let views = self.views(generation);
        let index = |keys| mongodb::IndexModel::builder().keys(keys).build();
        views
            .orders
            .create_index(index(doc! { "customerId": 1 }))
            .await?;
        views
            .menus
            .create_index(index(doc! { "orderCount": -1 }))
            .await?;
        Ok(())
    }

    /// Makes the live generation ready to be written to: the pointer exists (a fresh database
    /// gets its first generation) and that generation's indexes too.
    pub async fn prepare_live(&self) -> mongodb::error::Result<()> {
        let generations = self.generations().await?;
        self.prepare(&generations.active).await
    }
}

/// Readiness: MongoDB answers a ping.
#[async_trait]
impl ReadinessCheck for Store {
    fn name(&self) -> &'static str {
        "mongodb"
    }

    async fn check(&self) -> anyhow::Result<()> {
        Ok(self.ping().await?)
    }
}

/// A concurrent insert of the same `_id` won: fine, the caller re-reads.
pub(crate) fn ignore_duplicate_key(e: mongodb::error::Error) -> mongodb::error::Result<()> {
    use mongodb::error::{ErrorKind, WriteFailure};
    let duplicate = match &*e.kind {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == 11000,
        ErrorKind::Command(c) => c.code == 11000,
        _ => false,
    };
    if duplicate { Ok(()) } else { Err(e) }
}
