//! What the review service learns from the other services' events: who ordered what from which
//! store (`OrderPlaced`), which orders were delivered (`DeliveryCompleted`) and who owns each
//! store (`StoreRegistered`). Each is recorded as it comes: the three topics are read in no
//! common order, so a delivery may be recorded before its order, and the rule is decided when a
//! customer posts a review ([`crate::domain::post`]).

use async_trait::async_trait;
use backbone::{EventHandler, HandleError};
use shared_events::contract::Reliance;
use shared_events::{Envelope, Event, Topic};
use sqlx::PgConnection;

use crate::db;

/// The `source` of the events this service publishes.
pub const SOURCE: &str = "review";

/// What [`Facts`] reads in the other services' events: the contracts crate checks every
/// producer's real events against it (docs/contracts.md).
pub const RELIES_ON: &[Reliance] = &[
    Reliance {
        event: "OrderPlaced",
        fields: &[
            "data.orderId: uuid",
            "data.customerId: string",
            "data.storeId: uuid",
        ],
    },
    Reliance {
        event: "DeliveryCompleted",
        fields: &["data.orderId: uuid"],
    },
    Reliance {
        event: "StoreRegistered",
        fields: &[
            "data.storeId: uuid",
            "data.ownerId: string",
            "data.name: string",
        ],
    },
];

/// Records orders, deliveries and stores' owners.
pub struct Facts;

#[async_trait]
impl EventHandler for Facts {
    fn name(&self) -> &'static str {
        "review.facts"
    }

    fn topics(&self) -> Vec<Topic> {
        vec![Topic::Order, Topic::Delivery, Topic::Store]
    }

    fn accepts(&self, event: &Event) -> bool {
        matches!(
            event,
            Event::OrderPlaced(_) | Event::DeliveryCompleted(_) | Event::StoreRegistered(_)
        )
    }

    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope) -> Result<(), HandleError> {
        match &envelope.event {
            Event::OrderPlaced(e) => {
                db::record_order(tx, e.order_id, &e.customer_id, e.store_id).await?;
            }
            Event::DeliveryCompleted(e) => db::record_delivery(tx, e.order_id).await?,
            Event::StoreRegistered(e) => {
                db::record_store(tx, e.store_id, &e.owner_id, &e.name).await?;
            }
            _ => {}
        }
        Ok(())
    }
}
