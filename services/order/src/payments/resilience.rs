//! The resilience policy around the payment call, outermost first:
//!
//! 1. a bulkhead: at most `max_concurrency` calls in flight; beyond that, fail at once rather
//!    than queue (the seeds' threads piled up here);
//! 2. the circuit breaker (`failsafe`): after `failures` consecutive failures it opens and
//!    rejects calls in microseconds for `open_for`, then lets one through to probe;
//! 3. a timeout *inside* the breaker, so a slow answer counts as a failure.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use failsafe::backoff::{self, Constant};
use failsafe::failure_policy::{self, ConsecutiveFailures};
use failsafe::futures::CircuitBreaker;
use failsafe::{Config, Instrument, StateMachine};
use tokio::sync::Semaphore;

use super::{ChargeRequest, PaymentError, PaymentOutcome, PaymentPort};

/// | variable | default | meaning |
/// |---|---|---|
/// | `PAYMENT_TIMEOUT_MS` | `610` | a payment answer later than this is a failure (the seeds' value) |
/// | `PAYMENT_MAX_CONCURRENCY` | `128` | payment calls in flight at once (bulkhead) |
/// | `PAYMENT_BREAKER_FAILURES` | `5` | consecutive failures that open the breaker |
/// | `PAYMENT_BREAKER_OPEN_MS` | `5000` | how long it stays open before a probe call |
#[derive(Debug, Clone, Copy)]
pub struct BreakerSettings {
    pub timeout: Duration,
    pub max_concurrency: usize,
    pub failures: u32,
    pub open_for: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_millis(610),
            max_concurrency: 128,
            failures: 5,
            open_for: Duration::from_secs(5),
        }
    }
}

type Breaker = StateMachine<ConsecutiveFailures<Constant>, BreakerEvents>;

/// A [`PaymentPort`] behind the resilience policy.
pub struct Resilient<P> {
    inner: P,
    bulkhead: Arc<Semaphore>,
    breaker: Breaker,
    timeout: Duration,
}

impl<P: PaymentPort> Resilient<P> {
    pub fn new(inner: P, settings: BreakerSettings) -> Self {
        let policy = failure_policy::consecutive_failures(
            settings.failures,
            backoff::constant(settings.open_for),
        );
        metrics::gauge!("payment_breaker_open").set(0.0);
        Self {
            inner,
            bulkhead: Arc::new(Semaphore::new(settings.max_concurrency)),
            breaker: Config::new()
                .failure_policy(policy)
                .instrument(BreakerEvents)
                .build(),
            timeout: settings.timeout,
        }
    }
}

#[async_trait]
impl<P: PaymentPort> PaymentPort for Resilient<P> {
    async fn charge(&self, request: &ChargeRequest) -> Result<PaymentOutcome, PaymentError> {
        let Ok(_permit) = self.bulkhead.try_acquire() else {
            metrics::counter!("payment_calls_failed_total", "reason" => PaymentError::Saturated.kind())
                .increment(1);
            return Err(PaymentError::Saturated);
        };
        let timed = async {
            tokio::time::timeout(self.timeout, self.inner.charge(request))
                .await
                .unwrap_or(Err(PaymentError::Timeout))
        };
        let outcome = match self
            .breaker
            .call_with(PaymentError::is_failure, timed)
            .await
        {
            Ok(outcome) => Ok(outcome),
            Err(failsafe::Error::Rejected) => Err(PaymentError::BreakerOpen),
            Err(failsafe::Error::Inner(e)) => Err(e),
        };
        if let Err(e) = &outcome {
            metrics::counter!("payment_calls_failed_total", "reason" => e.kind()).increment(1);
        }
        outcome
    }
}

/// Logs and metrics for breaker state changes.
struct BreakerEvents;

impl Instrument for BreakerEvents {
    fn on_call_rejected(&self) {}

    fn on_open(&self) {
        tracing::warn!("payment circuit breaker opened: payment calls are shed");
        metrics::gauge!("payment_breaker_open").set(1.0);
    }

    fn on_half_open(&self) {
        tracing::info!("payment circuit breaker half-open: probing");
    }

    fn on_closed(&self) {
        tracing::info!("payment circuit breaker closed");
        metrics::gauge!("payment_breaker_open").set(0.0);
    }
}

#[cfg(test)]
#[path = "resilience_tests.rs"]
mod tests;
