//! The port through which an order is paid, and its adapters: the payment service over HTTP,
//! wrapped in the resilience policy (bulkhead, circuit breaker, timeout, retries).

pub mod contract;
mod http;
mod resilience;

pub use http::HttpPayments;
pub use resilience::{
    BreakerSettings, PAYMENT_BREAKER_FAILURE_RATE, PAYMENT_BREAKER_MIN_CALLS,
    PAYMENT_BREAKER_OPEN_MS, PAYMENT_BREAKER_PROBES, PAYMENT_BREAKER_WINDOW_MS,
    PAYMENT_MAX_ATTEMPTS, PAYMENT_TIMEOUT_MS, Resilient, Slot, TARGET_RATE, bulkhead_for,
};

use async_trait::async_trait;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    /// With `change_id`, the idempotency key: charging the same order (or the same change of
    /// it) twice returns the first payment.
    pub order_id: Uuid,
    pub customer_id: String,
    pub amount: i64,
    /// Set for the top-up of a change that made a paid order dearer: the price difference.
    pub change_id: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentOutcome {
    Approved { payment_id: Uuid },
    Declined,
}

/// Why there is no payment decision. Every variant means "unavailable" to the customer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    #[error("the payment service did not answer in time")]
    Timeout,
    #[error("the payment service is unreachable: {0}")]
    Unreachable(String),
    #[error("the payment service answered {0}")]
    Upstream(u16),
    #[error("the request's time ran out before payment could answer")]
    DeadlineExceeded,
    #[error("the payment circuit breaker is open")]
    BreakerOpen,
    #[error("too many payment calls in flight")]
    Saturated,
}

impl PaymentError {
    /// Whether this says the payment service is unhealthy (and so counts toward opening the
    /// breaker). A 4xx other than a decline is our own bug, not the service's health.
    pub fn is_failure(&self) -> bool {
        match self {
            PaymentError::Timeout | PaymentError::Unreachable(_) => true,
            PaymentError::Upstream(status) => *status >= 500,
            // The caller's time ran out: nothing says payment is unhealthy.
            PaymentError::DeadlineExceeded
            | PaymentError::BreakerOpen
            | PaymentError::Saturated => false,
        }
    }

    /// Whether asking again may give an answer: the call got none, or payment said it could
    /// not give one now. Charges are idempotent per order (and change), so asking again is
    /// safe even when payment made the charge the first time: the repeat finds it.
    pub fn is_transient(&self) -> bool {
        match self {
            PaymentError::Timeout | PaymentError::Unreachable(_) => true,
            PaymentError::Upstream(status) => matches!(status, 502..=504),
            PaymentError::DeadlineExceeded
            | PaymentError::BreakerOpen
            | PaymentError::Saturated => false,
        }
    }

    /// A label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            PaymentError::Timeout => "timeout",
            PaymentError::Unreachable(_) => "unreachable",
            PaymentError::Upstream(_) => "upstream_error",
            PaymentError::DeadlineExceeded => "deadline_exceeded",
            PaymentError::BreakerOpen => "breaker_open",
            PaymentError::Saturated => "bulkhead_full",
        }
    }
}

/// Charges orders. Implementations must be idempotent per order id.
///
/// A call in two steps, for callers that store something before they call: [`reserve`] takes
/// what the call needs (a bulkhead slot, the breaker's leave) and refuses at once when it
/// cannot be had, so that an order that could not be paid now is refused before it exists;
/// [`charge_in`] then makes the call within that slot. An adapter without a policy implements
/// [`charge`] only: there is nothing to reserve.
///
/// [`reserve`]: PaymentPort::reserve
/// [`charge_in`]: PaymentPort::charge_in
/// [`charge`]: PaymentPort::charge
#[async_trait]
pub trait PaymentPort: Send + Sync + 'static {
    async fn charge(&self, request: &ChargeRequest) -> Result<PaymentOutcome, PaymentError>;

    /// Takes the capacity for one call now, or says why there is none.
    fn reserve(&self) -> Result<Slot<'_>, PaymentError> {
        Ok(Slot::free())
    }

    /// Charges within a slot [`reserve`](PaymentPort::reserve) gave; the slot is released when
    /// the call is over.
    async fn charge_in(
        &self,
        slot: Slot<'_>,
        request: &ChargeRequest,
    ) -> Result<PaymentOutcome, PaymentError> {
        let outcome = self.charge(request).await;
        drop(slot);
        outcome
    }
}
