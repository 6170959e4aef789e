//! Events of one order as the other services would publish them.

pub use test_stack::journey::*;

use shared_events::{DeliveryAccidentReported, Envelope, StoreRegistered};
use uuid::Uuid;

/// The store service's announcement that `owner` owns `store_id`.
pub fn store_registered(store_id: Uuid, owner: &str) -> Envelope {
    Envelope::new(
        "store",
        StoreRegistered {
            store_id,
            owner_id: owner.into(),
            name: format!("{owner}'s kitchen"),
        },
    )
}

/// The delivery service's report of an accident on the way with `order`.
pub fn accident(order: &Order) -> Envelope {
    Envelope::new(
        "delivery",
        DeliveryAccidentReported {
            delivery_id: order.delivery_id,
            order_id: order.id,
            customer_id: order.customer.clone(),
            reason: "scooter crash".into(),
        },
    )
}
