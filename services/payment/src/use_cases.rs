//! What the order service and readers do with payments, independent of HTTP: a charge opens its
//! transaction, decides through the order's ledger and commits the payment with its events.

use sqlx::PgPool;
use tracing::Instrument;
use uuid::Uuid;

use crate::db;
use crate::domain::{
    Adjustment, AdjustmentStatus, Amount, InvalidAmount, OrderLedger, Payment, PaymentStatus,
    decide,
};
use crate::events::{load_ledger, publish_all};
use crate::faults::{Faults, InjectedFailure};

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error(transparent)]
    InvalidAmount(#[from] InvalidAmount),
    #[error(transparent)]
    Injected(#[from] InjectedFailure),
    /// The order's payment was made for another amount or customer.
    #[error("this order already has a payment with another amount or customer")]
    KeyReused,
    /// The charge's task ended without an answer (it panicked).
    #[error("the charge did not finish: {0}")]
    Interrupted(#[from] tokio::task::JoinError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// A charge as asked for by the order service; the order id is its idempotency key, or the
/// change id for the top-up of a change that made a paid order dearer.
#[derive(Debug, Clone)]
pub struct ChargeRequest {
    pub order_id: Uuid,
    pub customer_id: String,
    /// Won, not yet checked.
    pub amount: i64,
    pub change_id: Option<Uuid>,
}

/// The order's payment after a charge request: approved or declined.
#[derive(Debug, Clone)]
pub struct Charge {
    pub payment: Payment,
    /// `false` when the order already had this payment (a repeated request).
    pub created: bool,
}

#[derive(Clone)]
pub struct Payments {
    pool: PgPool,
    /// Amounts above this are declined.
    decline_above: i64,
    faults: Faults,
}

impl Payments {
    pub fn new(pool: PgPool, decline_above: i64, faults: Faults) -> Self {
        Self {
            pool,
            decline_above,
            faults,
        }
    }

    /// Charges an order, once: a repeat for the same order answers with the first payment.
    /// A charge that has started runs to its end even if the caller stops waiting (its timeout
    /// fired, its connection dropped): the caller then learns the outcome through the events.
    pub async fn charge(&self, request: ChargeRequest) -> Result<Charge, PaymentError> {
        tracing::Span::current().record("order.id", tracing::field::display(request.order_id));
        let amount = Amount::parse(request.amount)?;
        let this = self.clone();
        tokio::spawn(async move { this.charge_now(request, amount).await }.in_current_span())
            .await?
    }

    /// Decides the charge; under injected faults, answers a new one at its drawn answer time
    /// (a repeated one at once: see [`crate::faults`]).
    async fn charge_now(
        &self,
        request: ChargeRequest,
        amount: Amount,
    ) -> Result<Charge, PaymentError> {
        let injected = self.faults.draw();
        injected.fail_if_drawn().await?;
        let charge = self.decide(request, amount).await?;
        if charge.created {
            injected.answer_time().await;
        }
        Ok(charge)
    }

    #[tracing::instrument(name = "transaction", skip_all, fields(db.system = "postgresql"))]
    async fn decide(&self, request: ChargeRequest, amount: Amount) -> Result<Charge, PaymentError> {
        let now = service_runtime::clock::now();
        let candidate = Payment {
            id: Uuid::now_v7(),
            order_id: request.order_id,
            customer_id: request.customer_id,
            amount: amount.won(),
            status: decide(amount, self.decline_above),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.pool.begin().await?;
        let mut ledger = load_ledger(&mut tx, candidate.order_id).await?;
        if let Some(change_id) = request.change_id {
            return self.top_up(tx, ledger, candidate, change_id).await;
        }
        let charged = ledger.charge(candidate.clone());
        if !charged.created {
            let existing = charged.payment;
            if existing.amount != candidate.amount || existing.customer_id != candidate.customer_id
            {
                return Err(PaymentError::KeyReused);
            }
            return Ok(Charge {
                payment: existing,
                created: false,
            });
        }
        db::insert(&mut tx, &charged.payment).await?;
        publish_all(&mut tx, charged.publish).await?;
        backbone::outbox::commit(tx).await?;
        let payment = charged.payment;
        tracing::info!(order.id = %payment.order_id, payment.id = %payment.id, status = %payment.status, "payment decided");
        Ok(Charge {
            payment,
            created: true,
        })
    }

    /// A change's top-up, decided on the order's ledger. It answers as a payment whose id is
    /// the change's (declined when refused, like a charge above the limit).
    async fn top_up(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
        mut ledger: OrderLedger,
        candidate: Payment,
        change_id: Uuid,
    ) -> Result<Charge, PaymentError> {
        let topped = ledger.top_up(Adjustment {
            change_id,
            order_id: candidate.order_id,
            customer_id: candidate.customer_id.clone(),
            amount: candidate.amount,
            status: match candidate.status {
                PaymentStatus::Approved => AdjustmentStatus::Approved,
                _ => AdjustmentStatus::Declined,
            },
            confirmed: false,
            created_at: candidate.created_at,
            updated_at: candidate.updated_at,
        });
        let adjustment = topped.adjustment;
        if !topped.created
            && (adjustment.amount != candidate.amount
                || adjustment.customer_id != candidate.customer_id)
            && adjustment.status != AdjustmentStatus::Voided
        {
            return Err(PaymentError::KeyReused);
        }
        if topped.created {
            db::save_adjustments(&mut tx, &ledger.adjustments).await?;
            publish_all(&mut tx, topped.publish).await?;
            backbone::outbox::commit(tx).await?;
            tracing::info!(order.id = %adjustment.order_id, %change_id, status = %adjustment.status, "top-up decided");
        }
        Ok(Charge {
            payment: Payment {
                id: change_id,
                order_id: adjustment.order_id,
                customer_id: adjustment.customer_id,
                amount: candidate.amount,
                status: match adjustment.status {
                    AdjustmentStatus::Approved => PaymentStatus::Approved,
                    AdjustmentStatus::Refunded => PaymentStatus::Refunded,
                    AdjustmentStatus::Declined | AdjustmentStatus::Voided => {
                        PaymentStatus::Declined
                    }
                },
                created_at: adjustment.created_at,
                updated_at: adjustment.updated_at,
            },
            created: topped.created,
        })
    }

    /// The order's payment, if it has one, with the adjustments of its changes, oldest first.
    pub async fn of_order(
        &self,
        order_id: Uuid,
    ) -> Result<Option<(Payment, Vec<Adjustment>)>, PaymentError> {
        let Some(payment) = db::by_order(&self.pool, order_id, false).await? else {
            return Ok(None);
        };
        let adjustments = db::adjustments(&self.pool, order_id).await?;
        Ok(Some((payment, adjustments)))
    }
}
