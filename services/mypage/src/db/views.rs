//! Order views: one document per order, folded from events by [`crate::domain::merge`].
//!
//! A view is read, merged in Rust, and replaced only if its `revision` is unchanged (optimistic
//! concurrency). When an event changes what the order counts for the popular menus, the view
//! records that change with the event's position in Kafka (`countChanges`), in the same write:
//! the menu counts are then updated from that record, once, by [`crate::db::menus`]. A view holds
//! at most two such records (the order's placement and its cancellation).

use std::collections::BTreeMap;

use backbone::Position;
use mongodb::bson::{self, Bson, Document, doc};
use uuid::Uuid;

use crate::db::store::{Views, ignore_duplicate_key};
use crate::domain::{Merged, OrderView, count_change, merge};
use shared_events::Envelope;

const COUNT_CHANGES: &str = "countChanges";

/// How one event changed the order's contribution to its menu items' counts, and where the
/// event was when it was first folded into the view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountChange {
    pub event_id: Uuid,
    pub at: Position,
    pub delta: i64,
}

/// What folding an event did.
#[derive(Debug, Clone)]
pub struct Applied {
    pub merged: Merged,
    /// The view as stored afterwards, with the whole batch's events of its order (also for a
    /// duplicate).
    pub view: Option<OrderView>,
    /// The count change this event caused, when it caused one (also for a duplicate: a crash
    /// may have come between the view's write and the counts').
    pub change: Option<CountChange>,
}

impl Views {
    /// Folds a batch of events: each order's events in one write, up to `concurrency` orders
    /// at a time. Orders this process knows nothing of (most new ones) are first folded from
    /// nothing and inserted together in one request; the others, and those the insert finds
    /// already stored, are folded into the copy remembered or the view read back, and written
    /// with a compare-and-swap. Returns what each event did, in the batch's order.
    pub async fn apply_all(
        &self,
        events: &[(&Envelope, Position)],
        concurrency: usize,
    ) -> anyhow::Result<Vec<Applied>> {
        use futures::{StreamExt, TryStreamExt};
        let mut by_order: BTreeMap<Uuid, Vec<usize>> = BTreeMap::new();
        for (i, (envelope, _)) in events.iter().enumerate() {
            if let Some(order_id) = envelope.event.order_id() {
                by_order.entry(order_id).or_default().push(i);
            }
        }
        let mut applied: Vec<Applied> = events.iter().map(|_| ignored()).collect();
        let mut fresh = Vec::new();
        let mut documents = Vec::new();
        let mut again = Vec::new();
        for (order_id, indexes) in by_order {
            if self.recent.knows(self.orders.name(), order_id) {
                again.push((order_id, indexes)); // stored: no insert to try
                continue;
            }
            let mine: Vec<_> = indexes.iter().map(|&i| events[i]).collect();
            let folded = Folded::new(None, &mine)?;
            match folded.document(None)? {
                Some(document) => {
                    documents.push(document);
                    fresh.push((order_id, indexes, folded));
                }
                None => place(&mut applied, &indexes, folded.outcomes()),
            }
        }
        let stored = self.insert_new(documents.clone()).await?;
        // Each one costs FerretDB 1.x a statement per view of the request (see `recent`).
        metrics::counter!("mypage_view_inserts_refused_total").increment(stored.len() as u64);
        for (n, ((order_id, indexes, folded), document)) in
            fresh.into_iter().zip(documents).enumerate()
        {
            if stored.contains(&n) {
                self.recent.stored(self.orders.name(), order_id);
                again.push((order_id, indexes));
            } else {
                self.recent.put(self.orders.name(), order_id, document);
                place(&mut applied, &indexes, folded.outcomes());
            }
        }
        let folded: Vec<(Vec<usize>, Vec<Applied>)> = futures::stream::iter(again)
            .map(|(order_id, indexes)| async move {
                let mine: Vec<_> = indexes.iter().map(|&i| events[i]).collect();
                let outcomes = self.apply_order(order_id, &mine).await?;
                anyhow::Ok((indexes, outcomes))
            })
            .buffer_unordered(concurrency.max(1))
            .try_collect()
            .await?;
        for (indexes, outcomes) in folded {
            place(&mut applied, &indexes, outcomes);
        }
        Ok(applied)
    }

    /// Inserts new views in one unordered request; returns the positions of those whose `_id`
    /// was taken (stored meanwhile, or before).
    async fn insert_new(&self, documents: Vec<Document>) -> anyhow::Result<Vec<usize>> {
        use mongodb::error::ErrorKind;
        if documents.is_empty() {
            return Ok(Vec::new());
        }
        let result = self
            .orders
            .insert_many(documents)
            .with_options(
                mongodb::options::InsertManyOptions::builder()
                    .ordered(false)
                    .build(),
            )
            .await;
        let Err(e) = result else {
            return Ok(Vec::new());
        };
        if let ErrorKind::InsertMany(many) = &*e.kind
            && many.write_concern_error.is_none()
            && let Some(errors) = &many.write_errors
            && errors.iter().all(|w| w.code == 11000)
        {
            return Ok(errors.iter().map(|w| w.index).collect());
        }
        Err(e.into())
    }

    /// Folds one order's events, in order, into the copy this process wrote last or else the
    /// stored view, with one compare-and-swap write.
    async fn apply_order(
        &self,
        order_id: Uuid,
        events: &[(&Envelope, Position)],
    ) -> anyhow::Result<Vec<Applied>> {
        let mut remembered = self.recent.get(self.orders.name(), order_id);
        // How often the copy saves the read: the projection's cost per event depends on it.
        let outcome = if remembered.is_some() { "hit" } else { "miss" };
        metrics::counter!("mypage_remembered_views_total", "outcome" => outcome).increment(1);
        loop {
            let stored = match remembered.take() {
                Some(copy) => Some(copy),
                None => {
                    self.orders
                        .find_one(doc! { "_id": order_id.to_string() })
                        .await?
                }
            };
            let revision = stored.as_ref().and_then(|d| d.get_i64("revision").ok());
            let folded = Folded::new(stored, events)?;
            let Some(document) = folded.document(revision)? else {
                return Ok(folded.outcomes());
            };
            let copy = document.clone();
            let written = match revision {
                None => self
                    .orders
                    .insert_one(document)
                    .await
                    .map(|_| true)
                    .or_else(|e| ignore_duplicate_key(e).map(|()| false))?,
                Some(revision) => {
                    let filter = doc! { "_id": order_id.to_string(), "revision": revision };
                    let result = self.orders.replace_one(filter, document).await?;
                    result.matched_count == 1
                }
            };
            if written {
                self.recent.put(self.orders.name(), order_id, copy);
                return Ok(folded.outcomes());
            }
            tracing::debug!(order.id = %order_id, "view changed concurrently (or the copy was stale); merging again");
        }
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
}

fn ignored() -> Applied {
    Applied {
        merged: Merged::Ignored,
        view: None,
        change: None,
    }
}

fn place(applied: &mut [Applied], indexes: &[usize], outcomes: Vec<Applied>) {
    for (&i, outcome) in indexes.iter().zip(outcomes) {
        applied[i] = outcome;
    }
}

/// One order's stored view (if any) with a batch of its events folded in.
struct Folded {
    view: Option<OrderView>,
    changes: Vec<CountChange>,
    /// Per event: what merging it did, and the count change it caused (or had caused).
    events: Vec<(Merged, Option<CountChange>)>,
    changed: bool,
}

impl Folded {
    fn new(stored: Option<Document>, events: &[(&Envelope, Position)]) -> anyhow::Result<Self> {
        let mut changes = stored.as_ref().map(recorded_changes).unwrap_or_default();
        let mut view = stored.map(decode).transpose()?;
        let mut folded = Vec::with_capacity(events.len());
        let mut changed = false;
        for (envelope, at) in events {
            let merged = merge(view.clone(), envelope);
            let change = match &merged {
                Merged::Changed(next) => {
                    let delta = count_change(view.as_ref(), next);
                    let change = (delta != 0).then_some(CountChange {
                        event_id: envelope.id,
                        at: *at,
                        delta,
                    });
                    changes.extend(change);
                    view = Some(next.clone());
                    changed = true;
                    change
                }
                Merged::Duplicate => changes.iter().find(|c| c.event_id == envelope.id).copied(),
                Merged::Ignored => None,
            };
            folded.push((merged, change));
        }
        Ok(Self {
            view,
            changes,
            events: folded,
            changed,
        })
    }

    /// The document to write, at the revision after `revision`; none if nothing changed.
    fn document(&self, revision: Option<i64>) -> anyhow::Result<Option<Document>> {
        let Some(view) = self.view.as_ref().filter(|_| self.changed) else {
            return Ok(None);
        };
        let mut document = encode(view)?;
        document.insert("revision", revision.unwrap_or(0) + 1);
        if !self.changes.is_empty() {
            let changes: Vec<Bson> = self.changes.iter().map(to_bson).collect();
            document.insert(COUNT_CHANGES, changes);
        }
        Ok(Some(document))
    }

    fn outcomes(&self) -> Vec<Applied> {
        self.events
            .iter()
            .map(|(merged, change)| Applied {
                merged: merged.clone(),
                view: self.view.clone(),
                change: *change,
            })
            .collect()
    }
}

fn recorded_changes(document: &Document) -> Vec<CountChange> {
    let Ok(changes) = document.get_array(COUNT_CHANGES) else {
        return Vec::new();
    };
    changes
        .iter()
        .filter_map(|c| {
            let c = c.as_document()?;
            Some(CountChange {
                event_id: c.get_str("event").ok()?.parse().ok()?,
                at: Position {
                    partition: c.get_i32("partition").ok()?,
                    offset: c.get_i64("offset").ok()?,
                },
                delta: c.get_i64("delta").ok()?,
            })
        })
        .collect()
}

fn to_bson(change: &CountChange) -> Bson {
    Bson::Document(doc! {
        "event": change.event_id.to_string(),
        "partition": change.at.partition,
        "offset": change.at.offset,
        "delta": change.delta,
    })
}

/// The view as a document: its JSON shape, keyed by order id.
fn encode(view: &OrderView) -> anyhow::Result<Document> {
    let json = serde_json::to_value(view)?;
    let mut document = bson::to_document(&json)?;
    document.insert("_id", view.order_id.to_string());
    Ok(document)
}

fn decode(mut document: Document) -> anyhow::Result<OrderView> {
    for internal in ["_id", "revision", COUNT_CHANGES] {
        document.remove(internal);
    }
    let json = Bson::Document(document).into_relaxed_extjson();
    Ok(serde_json::from_value(json)?)
}
