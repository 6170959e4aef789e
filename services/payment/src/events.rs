//! How payment reacts to events: an order's cancellation refunds its payment, once, or is
//! remembered so that a payment made afterwards is refunded at once.

use async_trait::async_trait;
use backbone::{EventHandler, HandleError, outbox};
use shared_events::contract::Reliance;
use shared_events::{Envelope, Event, Topic};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::db;
use crate::domain::OrderLedger;

pub const SOURCE: &str = "payment";

/// What [`Refunds`] reads in the order service's events: the contracts crate checks every
/// producer's real events against it (docs/contracts.md).
pub const RELIES_ON: &[Reliance] = &[Reliance {
    event: "OrderCanceled",
    fields: &["data.orderId: uuid"],
}];

/// Refunds on `OrderCanceled`.
pub struct Refunds;

#[async_trait]
impl EventHandler for Refunds {
    fn name(&self) -> &'static str {
        "payment.refunds"
    }

    fn topics(&self) -> Vec<Topic> {
        vec![Topic::Order]
    }

    fn accepts(&self, event: &Event) -> bool {
        matches!(event, Event::OrderCanceled(_))
    }

    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope) -> Result<(), HandleError> {
        let Event::OrderCanceled(canceled) = &envelope.event else {
            return Ok(());
        };
        let mut ledger = load_ledger(tx, canceled.order_id).await?;
        let was_canceled = ledger.canceled;
        let publish = ledger.cancel();
        if !was_canceled {
            db::record_cancellation(tx, canceled.order_id).await?;
        }
        if let Some(payment) = ledger.payment.as_ref().filter(|_| !publish.is_empty()) {
            db::set_status(tx, payment.id, payment.status).await?;
            tracing::info!(order.id = %payment.order_id, payment.id = %payment.id, "payment refunded");
        }
        publish_all(tx, publish).await?;
        Ok(())
    }
}

/// Locks the order's ledger for this transaction and reads it. The lock serializes a payment
/// request and a cancellation of the same order: whichever comes second sees the first.
pub async fn load_ledger(tx: &mut PgConnection, order_id: Uuid) -> sqlx::Result<OrderLedger> {
    backbone::lock_order(tx, order_id).await?;
    Ok(OrderLedger {
        payment: db::by_order(&mut *tx, order_id, false).await?,
        canceled: db::is_canceled(tx, order_id).await?,
    })
}

pub async fn publish_all(tx: &mut PgConnection, events: Vec<Event>) -> sqlx::Result<()> {
    for event in events {
        outbox::enqueue(tx, &Envelope::new(SOURCE, event)).await?;
    }
    Ok(())
}
