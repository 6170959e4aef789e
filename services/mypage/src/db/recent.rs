//! What this process knows of the views it wrote: the last ones in full, with their revisions,
//! and many more by their ids alone.
//!
//! An order's events come apart, in separate batches (seconds apart in a burst, half an hour
//! apart over a delivery, or on four topics read at different speeds while catching up):
//! - a view still **remembered in full** has its next events folded into the copy in memory and
//!   is written with the compare-and-swap on the revision: no read first, no insert tried;
//! - a view only **known stored** is read, then swapped: no insert tried. That matters on
//!   FerretDB 1.x, which inserts a whole `insertMany` one document at a time, one statement each,
//!   as soon as one of them is refused for a taken `_id`: one stale guess in a batch of new views
//!   costs a statement per view instead of one;
//! - any other view is taken to be new and inserted with the batch's others.
//!
//! All of it is a hint, never the truth: a copy that another writer has overtaken (another
//! replica, a rebuild) fails the compare-and-swap and the view is read again; a view thought
//! stored that is not is read as missing and inserted; one thought new that is stored is refused
//! by the insert and read. So the cache can be stale but never wrong.
//!
//! Both tiers are bounded by count, oldest out first: orders finish, so the oldest are the least
//! useful. A copy is kept as its BSON bytes, one allocation of about 1–2 KB, rather than as a
//! parsed `Document` (a map of owned keys and values, several times larger): parsing it again
//! when it is used costs microseconds, against the database round trip it saves. An id is kept as
//! a 64-bit hash of collection and order (a new order taken for a stored one by a clash, about
//! once in 10^13 at a million ids, costs one read that finds nothing), in two halves: the newer
//! fills up, then replaces the older.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

use mongodb::bson::{Document, RawDocumentBuf};
use uuid::Uuid;

/// Views remembered in full per process: about 1–2 KB each.
pub const CAPACITY: usize = 10_000;

/// Views known stored per process, by id: about 9–18 bytes each (between half and all of them
/// are kept), so about 10–20 MB. At 100 orders a second that is well over an hour of orders,
/// longer than one takes from placement to delivery.
pub const KNOWN_CAPACITY: usize = 1_000_000;

/// How many views the projection remembers in full, and how many more by their ids
/// (`MYPAGE_REMEMBERED_VIEWS`, `MYPAGE_KNOWN_VIEWS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remembered {
    pub copies: usize,
    pub ids: usize,
}

impl Default for Remembered {
    fn default() -> Self {
        Self {
            copies: CAPACITY,
            ids: KNOWN_CAPACITY,
        }
    }
}

type Key = (String, Uuid);

pub struct Recent {
    capacity: usize,
    known_capacity: usize,
    hasher: RandomState,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    documents: HashMap<Key, RawDocumentBuf>,
    arrivals: VecDeque<Key>,
    /// Ids of views known stored: the newer half, then the older.
    known: [HashSet<u64>; 2],
}

impl From<Remembered> for Recent {
    fn from(remembered: Remembered) -> Self {
        Self::new(remembered.copies, remembered.ids)
    }
}

impl Recent {
    pub fn new(capacity: usize, known_capacity: usize) -> Self {
        Self {
            capacity,
            known_capacity,
            hasher: RandomState::new(),
            inner: Mutex::default(),
        }
    }

    /// The copy of `order_id`'s view in `collection` as this process last wrote it.
    pub fn get(&self, collection: &str, order_id: Uuid) -> Option<Document> {
        let inner = self.lock();
        let raw = inner.documents.get(&(collection.to_owned(), order_id))?;
        raw.to_document().ok()
    }

    /// Whether `order_id`'s view is known stored (in full or by its id alone): no insert to try.
    pub fn knows(&self, collection: &str, order_id: Uuid) -> bool {
        let inner = self.lock();
        let id = self.id(collection, order_id);
        inner.known.iter().any(|half| half.contains(&id))
            || inner
                .documents
                .contains_key(&(collection.to_owned(), order_id))
    }

    /// Records that `order_id`'s view is stored (read, or refused as already there).
    pub fn stored(&self, collection: &str, order_id: Uuid) {
        let id = self.id(collection, order_id);
        self.remember_id(&mut self.lock(), id);
    }

    /// Remembers `document` as `order_id`'s view, written by this process (one that cannot be
    /// encoded is only known stored: its next write reads it first).
    pub fn put(&self, collection: &str, order_id: Uuid, document: Document) {
        let id = self.id(collection, order_id);
        let mut inner = self.lock();
        self.remember_id(&mut inner, id);
        if self.capacity == 0 {
            return;
        }
        let Ok(document) = RawDocumentBuf::from_document(&document) else {
            return;
        };
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

    /// Adds `id` to the newer half (a full one first becomes the older, and the older goes).
    fn remember_id(&self, inner: &mut Inner, id: u64) {
        if self.known_capacity == 0 || inner.known[0].contains(&id) {
            return;
        }
        if inner.known[0].len() >= self.known_capacity.div_ceil(2) {
            inner.known[1] = std::mem::take(&mut inner.known[0]);
        }
        inner.known[0].insert(id);
    }

    fn id(&self, collection: &str, order_id: Uuid) -> u64 {
        self.hasher.hash_one((collection, order_id))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use mongodb::bson::doc;

    use super::*;

    fn ids(n: u128) -> Vec<Uuid> {
        (1..=n).map(Uuid::from_u128).collect()
    }

    #[test]
    fn the_oldest_copies_go_first_past_capacity_and_stay_known_stored() {
        let recent = Recent::new(2, 100);
        let [a, b, c] = ids(3)[..] else {
            unreachable!()
        };
        recent.put("g1", a, doc! { "revision": 1_i64 });
        recent.put("g1", b, doc! { "revision": 1_i64 });
        recent.put("g1", a, doc! { "revision": 2_i64 });
        recent.put("g1", c, doc! { "revision": 1_i64 });

        assert_eq!(recent.get("g1", a), None);
        assert!(
            recent.knows("g1", a),
            "pushed out of the copies, still known stored"
        );
        assert_eq!(recent.get("g1", b), Some(doc! { "revision": 1_i64 }));
        assert_eq!(recent.get("g1", c), Some(doc! { "revision": 1_i64 }));
        assert!(!recent.knows("g1", Uuid::from_u128(4)));
    }

    #[test]
    fn copies_and_ids_are_kept_per_collection() {
        let recent = Recent::new(10, 10);
        let [a, b] = ids(2)[..] else { unreachable!() };
        recent.put("g1", a, doc! { "revision": 3_i64 });
        recent.stored("g1", b);

        assert_eq!(recent.get("g2", a), None);
        assert!(!recent.knows("g2", a) && !recent.knows("g2", b));
        assert_eq!(recent.get("g1", a), Some(doc! { "revision": 3_i64 }));
        assert_eq!(recent.get("g1", b), None);
        assert!(recent.knows("g1", a) && recent.knows("g1", b));
    }

    #[test]
    fn ids_are_bounded_and_the_oldest_go_first() {
        let recent = Recent::new(0, 4);
        let orders = ids(7);
        for &order in &orders[..4] {
            recent.stored("g1", order);
        }
        assert!(orders[..4].iter().all(|&o| recent.knows("g1", o)));

        // One used again is kept with the newer ones.
        recent.stored("g1", orders[0]);
        for &order in &orders[4..] {
            recent.stored("g1", order);
        }

        let known: Vec<bool> = orders.iter().map(|&o| recent.knows("g1", o)).collect();
        assert_eq!(known, [true, false, false, false, true, true, true]);
    }

    #[test]
    fn nothing_is_kept_with_no_capacity() {
        let recent = Recent::new(0, 0);
        let a = Uuid::from_u128(1);
        recent.put("g1", a, doc! { "revision": 1_i64 });
        recent.stored("g1", a);

        assert_eq!(recent.get("g1", a), None);
        assert!(!recent.knows("g1", a));
    }
}
