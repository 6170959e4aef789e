//! Order views: one document per order, folded from events by [`crate::domain::merge`].
//!
//! A view is read, merged in Rust, and replaced only if its `revision` is unchanged (optimistic
//! concurrency). When an event changes what the order counts for the popular menus, the view
//! records that change with the event's position in Kafka (`countChanges`), in the same write:
//! the menu counts are then updated from that record, once, by [`crate::menus`]. A view holds
//! at most two such records (the order's placement and its cancellation).

use backbone::Position;
use mongodb::bson::{self, Bson, Document, doc};
use uuid::Uuid;

use crate::domain::{Merged, OrderView, count_change, merge};
use crate::store::{Views, ignore_duplicate_key};
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
    /// The view as stored afterwards (also for a duplicate).
    pub view: Option<OrderView>,
    /// The count change this event caused, when it caused one (also for a duplicate: a crash
    /// may have come between the view's write and the counts').
    pub change: Option<CountChange>,
}

impl Views {
    /// Folds `envelope`, read at `at`, into its order's view.
    pub async fn apply(&self, envelope: &Envelope, at: Position) -> anyhow::Result<Applied> {
        let Some(order_id) = envelope.event.order_id() else {
            return Ok(ignored());
        };
        loop {
            let stored = self
                .orders
                .find_one(doc! { "_id": order_id.to_string() })
                .await?;
            let revision = stored.as_ref().and_then(|d| d.get_i64("revision").ok());
            let mut changes = stored.as_ref().map(recorded_changes).unwrap_or_default();
            let current = stored.map(decode).transpose()?;
            let merged = merge(current.clone(), envelope);
            let view = match &merged {
                Merged::Changed(view) => view,
                Merged::Duplicate => {
                    let change = changes.into_iter().find(|c| c.event_id == envelope.id);
                    return Ok(Applied {
                        merged,
                        view: current,
                        change,
                    });
                }
                Merged::Ignored => return Ok(ignored()),
            };
            let delta = count_change(current.as_ref(), view);
            let change = (delta != 0).then_some(CountChange {
                event_id: envelope.id,
                at,
                delta,
            });
            changes.extend(change);
            let mut document = encode(view)?;
            document.insert("revision", revision.unwrap_or(0) + 1);
            if !changes.is_empty() {
                document.insert(
                    COUNT_CHANGES,
                    changes.iter().map(to_bson).collect::<Vec<_>>(),
                );
            }
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
                let view = Some(view.clone());
                return Ok(Applied {
                    merged,
                    view,
                    change,
                });
            }
            tracing::debug!(order.id = %order_id, "view changed concurrently; merging again");
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
