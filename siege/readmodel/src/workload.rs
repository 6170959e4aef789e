//! The orders the bench projects: a catalog of menu items in a few stores, customers who order
//! from it, and each order's events as the services would publish them. Most orders are
//! delivered; some are canceled and refunded; some are only placed and paid.

use shared_events::Envelope;
use test_stack::journey::{Order, line};
use uuid::Uuid;

pub const STORES: usize = 50;
pub const MENU_ITEMS_PER_STORE: usize = 10;
pub const CUSTOMERS: usize = 10_000;

pub struct Catalog {
    stores: Vec<(Uuid, Vec<Uuid>)>,
}

impl Catalog {
    pub fn new() -> Self {
        let stores = (0..STORES)
            .map(|_| {
                let items = (0..MENU_ITEMS_PER_STORE).map(|_| Uuid::new_v4()).collect();
                (Uuid::new_v4(), items)
            })
            .collect();
        Self { stores }
    }

    /// Order number `n`: its customer, store, items and fate follow from `n`, so runs compare.
    pub fn order(&self, n: usize) -> (Order, Vec<Envelope>) {
        let (store_id, items) = &self.stores[n % STORES];
        let first = items[n % MENU_ITEMS_PER_STORE];
        let second = items[(n / STORES) % MENU_ITEMS_PER_STORE];
        let mut lines = vec![line(first, "Fried chicken")];
        if second != first {
            lines.push(line(second, "Cola"));
        }
        let mut order = Order::with_items(&customer(n), lines);
        order.store_id = *store_id;
        let events = match n % 10 {
            0 => vec![
                order.placed(),
                order.approved(),
                order.canceled(shared_events::CancelReason::Customer),
                order.refunded(),
            ],
            1 => vec![order.placed(), order.approved()],
            _ => order.happy_path(),
        };
        (order, events)
    }
}

pub fn customer(n: usize) -> String {
    format!("customer-{}", n % CUSTOMERS)
}
