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

/// What [`Settlements`] reads in the order service's events: the contracts crate checks every
/// producer's real events against it (docs/contracts.md).
pub const RELIES_ON: &[Reliance] = &[
    Reliance {
        event: "OrderCanceled",
        fields: &["data.orderId: uuid"],
    },
    Reliance {
        event: "OrderChanged",
        fields: &[
            "data.orderId: uuid",
            "data.customerId: string",
            "data.changeId: uuid",
            "data.priceDifference: integer",
        ],
    },
    Reliance {
        event: "OrderChangeAbandoned",
        fields: &[
            "data.orderId: uuid",
            "data.customerId: string",
            "data.changeId: uuid",
        ],
    },
    Reliance {
        event: "DeliveryRequested",
        fields: &["data.orderId: uuid"],
    },
];

/// Settles an order's money as the order service decides: refunds on `OrderCanceled`, a
/// cheaper change's difference on `OrderChanged` (which also confirms a dearer one's top-up),
/// a given-up change's top-up on `OrderChangeAbandoned`, and any top-up whose change was never
/// made once the order is cooked (`DeliveryRequested`: it can change no more).
pub struct Settlements;

#[async_trait]
impl EventHandler for Settlements {
    /// The group's name from when it refunded cancellations only: its offsets carry over.
    fn name(&self) -> &'static str {
        "payment.refunds"
    }

    fn topics(&self) -> Vec<Topic> {
        vec![Topic::Order]
    }

    fn accepts(&self, event: &Event) -> bool {
        matches!(
            event,
            Event::OrderCanceled(_)
                | Event::OrderChanged(_)
                | Event::OrderChangeAbandoned(_)
                | Event::DeliveryRequested(_)
        )
    }

    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope) -> Result<(), HandleError> {
        let Some(order_id) = envelope.event.order_id() else {
            return Ok(());
        };
        let mut ledger = load_ledger(tx, order_id).await?;
        let now = service_runtime::clock::now();
        let publish = match &envelope.event {
            Event::OrderCanceled(_) => {
                let was_canceled = ledger.canceled;
                let publish = ledger.cancel();
                if !was_canceled {
                    db::record_cancellation(tx, order_id).await?;
                }
                if let Some(payment) = ledger.payment.as_ref().filter(|_| !publish.is_empty()) {
                    db::set_status(tx, payment.id, payment.status).await?;
                    tracing::info!(order.id = %order_id, payment.id = %payment.id, "payment refunded");
                }
                publish
            }
            Event::OrderChanged(changed) => ledger.change(changed, now),
            Event::OrderChangeAbandoned(abandoned) => {
                ledger.abandon(order_id, &abandoned.customer_id, abandoned.change_id, now)
            }
            Event::DeliveryRequested(_) => ledger.settle_changes(),
            _ => return Ok(()),
        };
        db::save_adjustments(tx, &ledger.adjustments).await?;
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
        canceled: db::is_canceled(&mut *tx, order_id).await?,
        adjustments: db::adjustments(&mut *tx, order_id).await?,
    })
}

pub async fn publish_all(tx: &mut PgConnection, events: Vec<Event>) -> sqlx::Result<()> {
    for event in events {
        outbox::enqueue(tx, &Envelope::new(SOURCE, event)).await?;
    }
    Ok(())
}
