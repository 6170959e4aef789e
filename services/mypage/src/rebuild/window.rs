//! Which orders the rebuild may write. History is read in time order across every partition
//! (see [`super::history`]), so an order's events arrive close together; each order's events are
//! held here until nothing has happened to it for a while (`quiet`, in the events' own time), and
//! only then written, once, with all of them. Without this, the partitions of the four topics are
//! read at different speeds and most orders are written several times, each a read and a
//! compare-and-swap on the database.
//!
//! No I/O here. Memory stays bounded: past `capacity` held events, the orders quiet the longest
//! are let go early (an order whose events come after that is written again, still correctly:
//! folding is order-independent and idempotent).

use std::collections::{BTreeSet, HashMap};

use uuid::Uuid;

/// The events held per order, in arrival order, with when the order last had one.
pub struct Window<E> {
    quiet_ms: i64,
    capacity: usize,
    held: usize,
    orders: HashMap<Uuid, Held<E>>,
    /// Orders by their latest event's time: the quiet ones first.
    by_time: BTreeSet<(i64, Uuid)>,
}

struct Held<E> {
    last_ms: i64,
    events: Vec<E>,
}

impl<E> Window<E> {
    pub fn new(quiet_ms: i64, capacity: usize) -> Self {
        Self {
            quiet_ms,
            capacity: capacity.max(1),
            held: 0,
            orders: HashMap::new(),
            by_time: BTreeSet::new(),
        }
    }

    /// Events held now.
    pub fn len(&self) -> usize {
        self.held
    }

    /// Holds an event of `order_id` that happened at `at_ms`.
    pub fn hold(&mut self, order_id: Uuid, at_ms: i64, event: E) {
        let held = self.orders.entry(order_id).or_insert_with(|| Held {
            last_ms: i64::MIN,
            events: Vec::new(),
        });
        if at_ms > held.last_ms {
            self.by_time.remove(&(held.last_ms, order_id));
            held.last_ms = at_ms;
            self.by_time.insert((at_ms, order_id));
        }
        held.events.push(event);
        self.held += 1;
    }

    /// Lets go of the orders quiet since before `now_ms - quiet`, and of the quietest others
    /// while more than `capacity` events are held; their events, each order's together.
    pub fn release(&mut self, now_ms: i64) -> Vec<E> {
        let mut released = Vec::new();
        while let Some(&(last_ms, order_id)) = self.by_time.first() {
            let quiet = last_ms < now_ms.saturating_sub(self.quiet_ms);
            if !quiet && self.held <= self.capacity {
                break;
            }
            self.let_go(last_ms, order_id, &mut released);
        }
        released
    }

    /// Every event still held (history has been read to its end).
    pub fn release_all(&mut self) -> Vec<E> {
        let mut released = Vec::with_capacity(self.held);
        while let Some(&(last_ms, order_id)) = self.by_time.first() {
            self.let_go(last_ms, order_id, &mut released);
        }
        released
    }

    fn let_go(&mut self, last_ms: i64, order_id: Uuid, into: &mut Vec<E>) {
        self.by_time.remove(&(last_ms, order_id));
        if let Some(held) = self.orders.remove(&order_id) {
            self.held -= held.events.len();
            into.extend(held.events);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn an_order_is_held_until_it_has_been_quiet_long_enough() {
        let mut window = Window::new(1_000, 100);
        window.hold(id(1), 0, "placed");
        window.hold(id(1), 500, "paid");

        assert!(window.release(1_400).is_empty());
        assert_eq!(window.release(1_501), vec!["placed", "paid"]);
        assert_eq!(window.len(), 0);
    }

    #[test]
    fn orders_are_released_quietest_first_each_with_all_its_events() {
        let mut window = Window::new(100, 100);
        window.hold(id(1), 0, "a1");
        window.hold(id(2), 10, "b1");
        window.hold(id(1), 20, "a2");
        window.hold(id(3), 500, "c1");

        assert_eq!(window.release(200), vec!["b1", "a1", "a2"]);
        assert_eq!(window.len(), 1);
    }

    #[test]
    fn past_capacity_the_quietest_orders_go_early() {
        let mut window = Window::new(1_000_000, 3);
        window.hold(id(1), 0, "a1");
        window.hold(id(2), 1, "b1");
        window.hold(id(2), 2, "b2");
        window.hold(id(3), 3, "c1");

        assert_eq!(window.release(4), vec!["a1"]);
        assert_eq!(window.len(), 3);
    }

    #[test]
    fn an_event_from_the_past_keeps_the_order_s_latest_time() {
        let mut window = Window::new(100, 100);
        window.hold(id(1), 500, "late");
        window.hold(id(1), 0, "early");

        assert!(window.release(550).is_empty());
        assert_eq!(window.release(601), vec!["late", "early"]);
    }

    #[test]
    fn release_all_empties_the_window() {
        let mut window = Window::new(100, 100);
        window.hold(id(1), 0, 1);
        window.hold(id(2), 0, 2);

        let mut all = window.release_all();
        all.sort();
        assert_eq!(all, vec![1, 2]);
        assert_eq!(window.len(), 0);
        assert!(window.release_all().is_empty());
    }
}
