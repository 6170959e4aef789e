//! The views this process wrote last, with their revisions. An order's events come seconds
//! apart, in separate batches: its next one is folded into the copy in memory and written with
//! the compare-and-swap on the revision, with no read of the view first and no attempt to insert
//! it. A copy that another writer has overtaken (another replica, a rebuild) fails the
//! compare-and-swap, and the view is read again, so the cache can be stale but never wrong.
//!
//! Bounded by count, oldest first out: orders finish, so the oldest copies are the least useful.
//! Each copy is kept as its BSON bytes, one allocation of about 1–2 KB, rather than as a parsed
//! `Document` (a map of owned keys and values, several times larger): parsing it again when it
//! is used costs microseconds, against the database round trip it saves.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use mongodb::bson::{Document, RawDocumentBuf};
use uuid::Uuid;

/// Views remembered per process: about 1–2 KB each.
pub const CAPACITY: usize = 10_000;

type Key = (String, Uuid);

pub struct Recent {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    documents: HashMap<Key, RawDocumentBuf>,
    arrivals: VecDeque<Key>,
}

impl Recent {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::default(),
        }
    }

    /// The copy of `order_id`'s view in `collection` as this process last wrote it.
    pub fn get(&self, collection: &str, order_id: Uuid) -> Option<Document> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let raw = inner.documents.get(&(collection.to_owned(), order_id))?;
        raw.to_document().ok()
    }

    /// Whether a copy is remembered, without taking one.
    pub fn holds(&self, collection: &str, order_id: Uuid) -> bool {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .documents
            .contains_key(&(collection.to_owned(), order_id))
    }

    /// Remembers `document` as `order_id`'s view (one that cannot be encoded is not
    /// remembered: the next write reads the view first, as for any view not remembered).
    pub fn put(&self, collection: &str, order_id: Uuid, document: Document) {
        if self.capacity == 0 {
            return;
        }
        let Ok(document) = RawDocumentBuf::from_document(&document) else {
            return;
        };
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let key = (collection.to_owned(), order_id);
        if inner.documents.insert(key.clone(), document).is_none() {
            inner.arrivals.push_back(key);
        }
        while inner.documents.len() > self.capacity {
            let Some(oldest) = inner.arrivals.pop_front() else {
                break;
            };
            inner.documents.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use mongodb::bson::doc;

    use super::*;

    #[test]
    fn the_oldest_copies_go_first_past_capacity() {
        let recent = Recent::new(2);
        let (a, b, c) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        recent.put("g1", a, doc! { "revision": 1_i64 });
        recent.put("g1", b, doc! { "revision": 1_i64 });
        recent.put("g1", a, doc! { "revision": 2_i64 });
        recent.put("g1", c, doc! { "revision": 1_i64 });

        assert_eq!(recent.get("g1", a), None);
        assert_eq!(recent.get("g1", b), Some(doc! { "revision": 1_i64 }));
        assert_eq!(recent.get("g1", c), Some(doc! { "revision": 1_i64 }));
    }

    #[test]
    fn copies_are_kept_per_collection() {
        let recent = Recent::new(10);
        let a = Uuid::from_u128(1);
        recent.put("g1", a, doc! { "revision": 3_i64 });

        assert_eq!(recent.get("g2", a), None);
        assert_eq!(recent.get("g1", a), Some(doc! { "revision": 3_i64 }));
    }
}
