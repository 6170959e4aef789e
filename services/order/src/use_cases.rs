//! The order use cases — place, cancel, re-drive — independent of HTTP (a second inbound
//! adapter, e.g. a CLI or a gRPC front, would call these too).

use std::sync::Arc;
use std::time::{Duration, Instant};

use backbone::outbox;
use shared_events::Envelope;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::SOURCE;
use crate::db::{self, InsertError};
use crate::domain::{
    Change, ChangeRefusal, Contents, Order, OrderRequest, OrderStatus, RequestedItem,
    TransitionError, ValidationError, check_items, delivery_address, price_order,
};
use crate::payments::{ChargeRequest, PaymentError, PaymentOutcome, PaymentPort};

/// What became of an order request.
#[derive(Debug)]
pub enum Placement {
    /// Paid and placed (or placed earlier under the same idempotency key).
    Placed(Order),
    Declined(Order),
    /// No payment answer: the order failed; a cancellation refunds any late approval.
    Unavailable(Order, PaymentError),
    /// The same idempotency key is being processed right now.
    InProgress(Order),
    /// No payment call could be made now (breaker open, bulkhead full), so the order was refused
    /// before it existed: nothing stored, nothing published, nothing to refund. (A retry of an
    /// abandoned PaymentPending order leaves it as it is, for a later retry or the repair.)
    Refused(PaymentError),
}

/// What a customer asks to change in an order: new lines (replacing all of them), a new
/// delivery address, or both; what is left out stays as it is.
#[derive(Debug, Clone, Default)]
pub struct ChangeRequest {
    pub items: Option<Vec<RequestedItem>>,
    pub delivery_address: Option<String>,
}

impl ChangeRequest {
    /// What can be checked without the order or the menu (see `OrderRequest::check`).
    fn check(&self) -> Result<(), ValidationError> {
        if let Some(items) = &self.items {
            check_items(items)?;
        }
        if let Some(address) = &self.delivery_address {
            delivery_address(address)?;
        }
        Ok(())
    }
}

/// What became of a change.
#[derive(Debug)]
pub enum Modification {
    /// Made (and its top-up paid, if it cost more); or nothing to make, the order being so
    /// already.
    Changed(Order),
    /// The top-up was declined: nothing changed.
    Declined { order: Order, top_up: i64 },
    /// No answer from payment about the top-up: nothing changed, and any top-up made is given
    /// back.
    Unavailable(PaymentError),
    /// No payment call could be made now (breaker open, bulkhead full): nothing changed.
    Refused(PaymentError),
}

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("no such order")]
    NotFound,
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The order is no longer at the version the change was made from.
    #[error("order is at version {current}, not {expected}: read it again")]
    Stale { expected: u32, current: u32 },
    /// An idempotency key sent again with another request than the one that placed `0`.
    #[error(
        "this Idempotency-Key was used for another request (order {0}): use a new key for a new order"
    )]
    KeyReused(Uuid),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl From<ChangeRefusal> for OrderError {
    fn from(refusal: ChangeRefusal) -> Self {
        match refusal {
            ChangeRefusal::Transition(t) => OrderError::Transition(t),
            ChangeRefusal::Stale { expected, current } => OrderError::Stale { expected, current },
        }
    }
}

/// How long a request waited on the payment service: its own call, or another attempt's answer.
/// The HTTP layer reports it to admission control, which leaves it out of the request's latency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaymentWait(pub Duration);

/// How often a retry waiting for another attempt looks again.
const LEASE_POLL: Duration = Duration::from_millis(50);

/// How an attempt to pay for an order is known to be over.
///
/// Each attempt (the request that stores the order, a retry that takes it over, the repair)
/// holds a lease on the PaymentPending order until its payment call's longest time (every try's
/// timeout and the waits between them) plus `margin`:
/// the longest a live attempt can take before it records the answer. Once the lease has run
/// out, whoever comes next (the customer's retry with the same Idempotency-Key, the repair, a
/// restarted process) takes the order over at once and charges it again under the same payment
/// idempotency key, so the payment the dead attempt may have made is found, not made twice.
#[derive(Debug, Clone, Copy)]
pub struct Attempts {
    pub lease: Duration,
    /// A test-only fault point: the attempt stops dead after the payment's answer and before
    /// recording it, as a process killed at that moment would.
    pub freeze_after_payment: bool,
}

impl Attempts {
    pub fn new(longest_payment_call: Duration, margin: Duration) -> Self {
        Self {
            lease: longest_payment_call + margin,
            freeze_after_payment: false,
        }
    }
}

#[derive(Clone)]
pub struct Orders {
    pool: PgPool,
    payments: Arc<dyn PaymentPort>,
    attempts: Attempts,
}

impl Orders {
    pub fn new(pool: PgPool, payments: Arc<dyn PaymentPort>, attempts: Attempts) -> Self {
        Self {
            pool,
            payments,
            attempts,
        }
    }

    /// Validates and prices the request from the menu replica, takes a slot for the payment
    /// call (or refuses the order before storing anything), stores the order as
    /// PaymentPending, charges it, and records the answer.
    pub async fn place(
        &self,
        customer_id: &str,
        request: &OrderRequest,
        idempotency_key: Option<&str>,
    ) -> Result<(Placement, PaymentWait), OrderError> {
        request.check()?;
        let key = idempotency_key.map(|key| db::Key {
            key,
            digest: request.digest(),
        });
        if let Some(key) = &key
            && let Some(existing) = db::by_idempotency_key(&self.pool, customer_id, key.key).await?
        {
            return self.resume(same_request(existing, key)?).await;
        }
        let menu = db::menu_of_store(&self.pool, request.store_id).await?;
        let (items, total_price, delivery_address) = price_order(request, &menu)?;
        let slot = match self.payments.reserve() {
            Ok(slot) => slot,
            Err(refused) => return Ok((Placement::Refused(refused), PaymentWait::default())),
        };
        let now = service_runtime::clock::now();
        let order = Order {
            id: Uuid::now_v7(),
            customer_id: customer_id.to_owned(),
            store_id: request.store_id,
            items,
            total_price,
            delivery_address,
            status: OrderStatus::PaymentPending,
            cancel_reason: None,
            payment_id: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        match db::insert(&self.pool, &order, key.as_ref(), self.attempts.lease).await {
            Ok(()) => {}
            Err(InsertError::DuplicateKey) => {
                // A concurrent request with the same key won the race.
                let key = key.as_ref().ok_or(OrderError::NotFound)?;
                let existing = db::by_idempotency_key(&self.pool, customer_id, key.key)
                    .await?
                    .ok_or(OrderError::NotFound)?;
                return Ok((replay(same_request(existing, key)?), PaymentWait::default()));
            }
            Err(InsertError::Database(e)) => return Err(e.into()),
        }
        tracing::Span::current().record("order.id", tracing::field::display(order.id));
        tracing::info!(order.id = %order.id, total = order.total_price, "order awaiting payment");
        let started = Instant::now();
        let answer = self.payments.charge_in(slot, &charge_request(&order)).await;
        let waited = PaymentWait(started.elapsed());
        Ok((self.record_answer(order, answer, true).await?, waited))
    }

    /// The answer to a request whose idempotency key names `order`. A PaymentPending order
    /// whose attempt is over (its lease ran out: the process died, say, after the payment and
    /// before recording it) is taken over and charged again under the same payment key, and the
    /// request is answered with the outcome. While another attempt's lease runs (a double
    /// submit, or a retry right after a crash), the request waits for that attempt's answer or
    /// for its lease to run out, rather than answering 409: at most one lease.
    async fn resume(&self, order: Order) -> Result<(Placement, PaymentWait), OrderError> {
        if order.status != OrderStatus::PaymentPending {
            return Ok((replay(order), PaymentWait::default()));
        }
        let slot = match self.payments.reserve() {
            Ok(slot) => slot,
            Err(refused) => return Ok((Placement::Refused(refused), PaymentWait::default())),
        };
        // Waiting for another attempt's answer is waiting on payment too.
        let started = Instant::now();
        let give_up_at = tokio::time::Instant::now() + self.attempts.lease;
        let order = loop {
            if let Some(order) = db::take_over(&self.pool, order.id, self.attempts.lease).await? {
                break order;
            }
            let current = db::get(&self.pool, order.id, false)
                .await?
                .ok_or(OrderError::NotFound)?;
            if current.status != OrderStatus::PaymentPending
                || tokio::time::Instant::now() >= give_up_at
            {
                return Ok((replay(current), PaymentWait(started.elapsed())));
            }
            tokio::time::sleep(LEASE_POLL).await;
        };
        tracing::info!(order.id = %order.id, "retried order taken over from an attempt that is over");
        let answer = self.payments.charge_in(slot, &charge_request(&order)).await;
        let waited = PaymentWait(started.elapsed());
        Ok((self.record_answer(order, answer, true).await?, waited))
    }

    /// Takes an abandoned PaymentPending order over and charges it (the repair); `None` if
    /// another attempt took it first.
    pub async fn redrive(
        &self,
        order: Order,
        give_up: bool,
    ) -> Result<Option<Placement>, OrderError> {
        let Some(order) = db::take_over(&self.pool, order.id, self.attempts.lease).await? else {
            return Ok(None);
        };
        Ok(Some(self.settle(order, give_up).await?))
    }

    /// Charges a PaymentPending order (again: the order id is the payment's idempotency key)
    /// and records the answer. With `give_up` unset, an unavailable payment leaves the order
    /// pending for a later attempt.
    pub async fn settle(&self, order: Order, give_up: bool) -> Result<Placement, OrderError> {
        let answer = match self.payments.reserve() {
            Ok(slot) => self.payments.charge_in(slot, &charge_request(&order)).await,
            Err(refused) => Err(refused),
        };
        self.record_answer(order, answer, give_up).await
    }

    /// Stores the payment's answer on a PaymentPending order, with its event.
    #[tracing::instrument(name = "transaction", skip_all, fields(db.system = "postgresql"))]
    async fn record_answer(
        &self,
        mut order: Order,
        answer: Result<PaymentOutcome, PaymentError>,
        give_up: bool,
    ) -> Result<Placement, OrderError> {
        if self.attempts.freeze_after_payment {
            tracing::warn!(order.id = %order.id, "fault point: frozen after the payment's answer");
            std::future::pending::<()>().await;
        }
        let change = match &answer {
            Ok(PaymentOutcome::Approved { payment_id }) => order.place(*payment_id)?,
            Ok(PaymentOutcome::Declined) => order.decline()?,
            Err(_) if !give_up => return Ok(Placement::InProgress(order)),
            Err(_) => order.fail_payment()?,
        };
        let mut tx = self.pool.begin().await?;
        if !commit_change(&mut tx, &mut order, &change).await? {
            // Settled by someone else meanwhile (a concurrent re-drive): report what is stored.
            drop(tx);
            let current = db::get(&self.pool, order.id, false)
                .await?
                .ok_or(OrderError::NotFound)?;
            return Ok(replay(current));
        }
        outbox::commit(tx).await?;
        tracing::info!(order.id = %order.id, status = %order.status, "payment answer recorded");
        Ok(match answer {
            Ok(PaymentOutcome::Approved { .. }) => Placement::Placed(order),
            Ok(PaymentOutcome::Declined) => Placement::Declined(order),
            Err(e) => Placement::Unavailable(order, e),
        })
    }

    /// The customer cancels their order (allowed while Placed or Accepted).
    #[tracing::instrument(name = "transaction", skip_all, fields(db.system = "postgresql"))]
    pub async fn cancel(&self, customer_id: &str, order_id: Uuid) -> Result<Order, OrderError> {
        let mut tx = self.pool.begin().await?;
        let mut order = db::get(&mut *tx, order_id, true)
            .await?
            .filter(|o| o.customer_id == customer_id)
            .ok_or(OrderError::NotFound)?;
        let change = order.cancel_by_customer()?;
        commit_change(&mut tx, &mut order, &change).await?;
        outbox::commit(tx).await?;
        tracing::info!(order.id = %order.id, "order canceled by the customer");
        Ok(order)
    }

    /// The customer changes an order they last read at version `expected`. A change that makes
    /// it dearer is paid first (a top-up of the difference, behind the same breaker and
    /// bulkhead as orders, keyed by the change's id); then the change is made if the order is
    /// still changeable and at `expected` — if it is not any more (its cooking started, it was
    /// canceled or changed meanwhile), or payment did not answer, the change is given up and
    /// any top-up given back (`OrderChangeAbandoned`). A cheaper change is refunded by the
    /// payment service when it reads `OrderChanged`.
    pub async fn change(
        &self,
        customer_id: &str,
        order_id: Uuid,
        expected: u32,
        request: &ChangeRequest,
    ) -> Result<(Modification, PaymentWait), OrderError> {
        request.check()?;
        let order = self.get(customer_id, order_id).await?;
        order.check_change(expected)?;
        let contents = self.price_change(&order, request).await?;
        let change_id = Uuid::now_v7();
        let Some(changed) = order.change(expected, contents, change_id)? else {
            return Ok((Modification::Changed(order), PaymentWait::default()));
        };
        let mut waited = PaymentWait::default();
        let top_up = changed.price_difference;
        if top_up > 0 {
            let slot = match self.payments.reserve() {
                Ok(slot) => slot,
                Err(refused) => return Ok((Modification::Refused(refused), waited)),
            };
            let request = ChargeRequest {
                amount: top_up,
                change_id: Some(change_id),
                ..charge_request(&order)
            };
            let started = Instant::now();
            let answer = self.payments.charge_in(slot, &request).await;
            waited = PaymentWait(started.elapsed());
            match answer {
                Ok(PaymentOutcome::Approved { .. }) => {}
                Ok(PaymentOutcome::Declined) => {
                    // Payment declines a top-up of an order it knows canceled: say what moved.
                    let current = self.get(customer_id, order_id).await?;
                    current.check_change(expected)?;
                    return Ok((Modification::Declined { order, top_up }, waited));
                }
                Err(e) => {
                    self.abandon(&order, change_id).await?;
                    return Ok((Modification::Unavailable(e), waited));
                }
            }
        }
        let mut tx = self.pool.begin().await?;
        let mut current = db::get(&mut *tx, order_id, true)
            .await?
            .ok_or(OrderError::NotFound)?;
        // Checked again under the row's lock: the order may have moved while payment answered.
        if let Err(refused) = current.check_change(expected) {
            if top_up > 0 {
                outbox::enqueue(
                    &mut tx,
                    &Envelope::new(SOURCE, current.change_abandoned(change_id)),
                )
                .await?;
                outbox::commit(tx).await?;
                tracing::info!(order.id = %order_id, %change_id, "change given up after its top-up: {refused}");
            }
            return Err(refused.into());
        }
        current.apply_change(&changed);
        if !db::save_contents(&mut tx, &current, expected).await? {
            return Err(ChangeRefusal::Stale {
                expected,
                current: current.version,
            }
            .into());
        }
        outbox::enqueue(&mut tx, &Envelope::new(SOURCE, changed)).await?;
        outbox::commit(tx).await?;
        tracing::info!(order.id = %order_id, %change_id, version = current.version, top_up, "order changed");
        Ok((Modification::Changed(current), waited))
    }

    /// The contents `request` asks for, checked and priced from the menu replica; lines left
    /// out keep their prices as ordered.
    async fn price_change(
        &self,
        order: &Order,
        request: &ChangeRequest,
    ) -> Result<Contents, OrderError> {
        let address = match &request.delivery_address {
            Some(address) => delivery_address(address)?,
            None => order.delivery_address.clone(),
        };
        let Some(items) = &request.items else {
            return Ok(Contents {
                items: order.items.clone(),
                total_price: order.total_price,
                delivery_address: address,
            });
        };
        let menu = db::menu_of_store(&self.pool, order.store_id).await?;
        let wanted = OrderRequest {
            store_id: order.store_id,
            items: items.clone(),
            delivery_address: address,
        };
        let (items, total_price, delivery_address) = price_order(&wanted, &menu)?;
        Ok(Contents {
            items,
            total_price,
            delivery_address,
        })
    }

    /// Gives a change's top-up back, whether or not it was made: the payment refunds it, or
    /// refuses it if it arrives later.
    async fn abandon(&self, order: &Order, change_id: Uuid) -> Result<(), OrderError> {
        let mut tx = self.pool.begin().await?;
        outbox::enqueue(
            &mut tx,
            &Envelope::new(SOURCE, order.change_abandoned(change_id)),
        )
        .await?;
        outbox::commit(tx).await?;
        tracing::warn!(order.id = %order.id, %change_id, "change given up: no answer about its top-up");
        Ok(())
    }

    pub async fn get(&self, customer_id: &str, order_id: Uuid) -> Result<Order, OrderError> {
        db::get(&self.pool, order_id, false)
            .await?
            .filter(|o| o.customer_id == customer_id)
            .ok_or(OrderError::NotFound)
    }

    pub async fn list(&self, customer_id: &str) -> Result<Vec<Order>, OrderError> {
        Ok(db::list_for_customer(&self.pool, customer_id).await?)
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Applies `change` to `order` and stores it with its event, inside the caller's transaction.
/// `false` (and nothing written) if the stored status is no longer the order's.
pub async fn commit_change(
    conn: &mut PgConnection,
    order: &mut Order,
    change: &Change,
) -> sqlx::Result<bool> {
    let expected = order.status;
    order.apply(change);
    if !db::save(conn, order, expected).await? {
        return Ok(false);
    }
    if let Some(event) = &change.publish {
        outbox::enqueue(conn, &Envelope::new(SOURCE, event.clone())).await?;
    }
    Ok(true)
}

fn charge_request(order: &Order) -> ChargeRequest {
    ChargeRequest {
        order_id: order.id,
        customer_id: order.customer_id.clone(),
        amount: order.total_price,
        change_id: None,
    }
}

/// The order found under `key`, if the request that stored it asked for what this one asks
/// for; a key sent again with another request is refused, never answered with the first
/// request's order (the IETF Idempotency-Key draft's 422). Orders stored before digests were
/// kept are taken as the same.
fn same_request(existing: db::Keyed, key: &db::Key<'_>) -> Result<Order, OrderError> {
    match existing.digest {
        Some(digest) if digest != key.digest => Err(OrderError::KeyReused(existing.order.id)),
        _ => Ok(existing.order),
    }
}

/// The answer for an order found under an idempotency key.
fn replay(order: Order) -> Placement {
    match order.status {
        OrderStatus::PaymentPending => Placement::InProgress(order),
        OrderStatus::PaymentDeclined => Placement::Declined(order),
        OrderStatus::PaymentFailed => Placement::Unavailable(order, PaymentError::Timeout),
        _ => Placement::Placed(order),
    }
}
