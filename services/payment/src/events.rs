//! How payment reacts to events: an order's cancellation refunds its payment, once.

use async_trait::async_trait;
use backbone::{EventHandler, HandleError, outbox};
use shared_events::{Envelope, Event, PaymentCanceled, Topic};
use sqlx::PgConnection;

use crate::db;
use crate::domain::Payment;

pub const SOURCE: &str = "payment";

/// Refunds on `OrderCanceled`. A cancellation that arrives before the payment is remembered,
/// and the payment is refunded as soon as it is made.
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
        db::lock_order(tx, canceled.order_id).await?;
        db::record_cancellation(tx, canceled.order_id).await?;
        if let Some(mut payment) = db::by_order(&mut *tx, canceled.order_id, true).await? {
            refund(tx, &mut payment).await?;
        }
        Ok(())
    }
}

/// Refunds `payment` if it is approved, with its `PaymentCanceled` event in the same transaction.
pub async fn refund(tx: &mut PgConnection, payment: &mut Payment) -> sqlx::Result<()> {
    if payment.refund() {
        db::set_status(tx, payment.id, payment.status).await?;
        outbox::enqueue(tx, &Envelope::new(SOURCE, canceled_event(payment))).await?;
        tracing::info!(order.id = %payment.order_id, payment.id = %payment.id, "payment refunded");
    }
    Ok(())
}

fn canceled_event(payment: &Payment) -> PaymentCanceled {
    PaymentCanceled {
        payment_id: payment.id,
        order_id: payment.order_id,
        customer_id: payment.customer_id.clone(),
        amount: payment.amount,
    }
}
