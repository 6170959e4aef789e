//! The resilience policy around the payment call, outermost first:
//!
//! 1. a bulkhead: at most `max_concurrency` calls in flight; beyond that, fail at once rather
//!    than queue (the seeds' threads piled up here). Sized by Little's law, see [`bulkhead_for`];
//! 2. the circuit breaker ([`breaker`]): it opens when at least `failure_rate` percent of at
//!    least `min_calls` calls in the last `window` failed (or `min_calls` in a row within it),
//!    refuses calls without making them for `open_for`, then lets `probes` calls through to
//!    decide whether to close;
//! 3. a timeout *inside* the breaker, so an answer later than `timeout` counts as a failure;
//! 4. retries: a try that got no answer (a timeout, no connection, a 502–504) is made again,
//!    up to `max_attempts` tries in all, each through the breaker with its own timeout, a few
//!    milliseconds apart and within a retry budget of a tenth of the calls
//!    (`service_runtime::retry`), so a retry never more than adds a tenth to an overload and
//!    an open breaker stops them. A charge is idempotent (keyed by the order id), so a repeat
//!    of one payment did make finds it rather than charging twice; that is what turns the few
//!    answers of a slow payment service that come just after the timeout into placed orders.
//!
//! The first two are taken together as a [`Slot`] by [`PaymentPort::reserve`] before the order is
//! stored, so an order that cannot be paid now is refused before it exists (no row, no event, no
//! refund to make), and a refusal costs the order service microseconds.
//!
//! The breaker counts failures, not slowness: a payment service answering in 400–620 ms against
//! a 610 ms timeout is slow but healthy, and its few timeouts (about 5 %) stay far below the
//! failure rate. A slow-call threshold would only shed that healthy traffic again, so there is
//! none; the timeout is the one line between slow and failed. Each try counts, a retry's too.

mod breaker;

use std::time::{Duration, Instant};

use async_trait::async_trait;
use service_runtime::deadline::Deadline;
use service_runtime::retry::RetryPolicy;
use tokio::sync::{Semaphore, SemaphorePermit};

use self::breaker::{CircuitBreaker, Permit};
use super::{ChargeRequest, PaymentError, PaymentOutcome, PaymentPort};

/// The defaults of the `PAYMENT_*` variables (the settings module documents them).
///
/// Payment answers later than this are failures: the seeds' timeout.
pub const PAYMENT_TIMEOUT_MS: u64 = 610;
/// Hystrix's defaults: 50 % of at least 20 calls in 10 s open the breaker for 5 s, then one
/// probe decides.
pub const PAYMENT_BREAKER_FAILURE_RATE: u8 = 50;
pub const PAYMENT_BREAKER_MIN_CALLS: u32 = 20;
pub const PAYMENT_BREAKER_WINDOW_MS: u64 = 10_000;
pub const PAYMENT_BREAKER_OPEN_MS: u64 = 5_000;
pub const PAYMENT_BREAKER_PROBES: u32 = 1;
/// Tries per charge, the first included: one retry.
pub const PAYMENT_MAX_ATTEMPTS: u32 = 2;

/// The payment calls a second the bulkhead is sized for by default: the seeds' experiment
/// (100 concurrent customers, payments answering in 510 ms on average) offers at most
/// 100 / 0.51 s ≈ 196 calls a second.
pub const TARGET_RATE: u32 = 200;

/// The policy's parameters; the environment variables and their defaults are in
/// [`crate::settings`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// A payment answer later than this is a failure.
    pub timeout: Duration,
    /// Payment calls in flight at once (bulkhead).
    pub max_concurrency: usize,
    /// Percentage (1–100) of failed calls in the window that opens the breaker.
    pub failure_rate: u8,
    /// Calls the window must hold before their failure rate can open the breaker; as many
    /// failures in a row within the window open it too.
    pub min_calls: u32,
    /// The sliding window over which the failure rate is measured.
    pub window: Duration,
    /// How long an open breaker refuses calls before probing.
    pub open_for: Duration,
    /// Calls let through when half-open; their failure rate decides whether it closes.
    pub probes: u32,
    /// Tries per charge, the first included (1: no retry).
    pub max_attempts: u32,
}

impl Default for BreakerSettings {
    /// Hystrix's defaults (50 % of at least 20 calls in 10 s, 5 s open, one probe) around the
    /// seeds' 610 ms timeout: the defaults of the environment variables, defined above.
    fn default() -> Self {
        let timeout = Duration::from_millis(PAYMENT_TIMEOUT_MS);
        Self {
            timeout,
            max_concurrency: bulkhead_for(TARGET_RATE, timeout),
            failure_rate: PAYMENT_BREAKER_FAILURE_RATE,
            min_calls: PAYMENT_BREAKER_MIN_CALLS,
            window: Duration::from_millis(PAYMENT_BREAKER_WINDOW_MS),
            open_for: Duration::from_millis(PAYMENT_BREAKER_OPEN_MS),
            probes: PAYMENT_BREAKER_PROBES,
            max_attempts: PAYMENT_MAX_ATTEMPTS,
        }
    }
}

impl BreakerSettings {
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=100).contains(&self.failure_rate) {
            return Err(format!(
                "the breaker's failure rate must be 1–100 %, got {}",
                self.failure_rate
            ));
        }
        if self.max_concurrency == 0
            || self.min_calls == 0
            || self.probes == 0
            || self.max_attempts == 0
        {
            return Err(
                "the bulkhead, the breaker's minimum calls, its probes and the attempts must be \
                 at least 1"
                    .into(),
            );
        }
        if self.window < Duration::from_millis(100) || self.timeout.is_zero() {
            return Err("the breaker's window must be at least 100 ms, the timeout above 0".into());
        }
        Ok(())
    }
}

impl BreakerSettings {
    /// The longest a charge can take, retries and their waits included: how long an attempt
    /// to pay for an order may go on before it is known to be over.
    pub fn longest_call(&self) -> Duration {
        let tries = self.max_attempts.max(1);
        self.timeout * tries + RetryPolicy::LONGEST_WAIT * (tries - 1)
    }
}

/// The bulkhead for `target_rate` calls a second that may each take up to `timeout`.
///
/// Little's law: calls in flight = arrival rate × time in flight. The timeout bounds the time in
/// flight, so `target_rate × timeout` slots never refuse a call while calls arrive no faster
/// than the target rate, however slow payment gets short of the timeout; whatever arrives
/// faster than that is shed at once instead of piling up (a semaphore, not a queue). 200/s ×
/// 610 ms = 122 slots; when payment answers in 50 ms the same slots carry 2 440 calls a second.
pub fn bulkhead_for(target_rate: u32, timeout: Duration) -> usize {
    let slots = (f64::from(target_rate) * timeout.as_secs_f64()).ceil();
    // A float-to-int `as` saturates; the bulkhead needs at least one slot.
    (slots as usize).max(1)
}

/// What one payment call holds while it is made: a place in the bulkhead and the breaker's
/// leave (its outcome is recorded when the call is over; a slot dropped unused counts for
/// nothing). Empty for an adapter without a policy.
#[derive(Default)]
pub struct Slot<'a> {
    bulkhead: Option<Place<'a>>,
    breaker: Option<Permit<'a>>,
}

impl Slot<'_> {
    /// A slot that holds nothing.
    pub fn free() -> Self {
        Self::default()
    }
}

/// The bulkhead: a semaphore whose saturation Prometheus sees, as `payment_bulkhead_in_flight`
/// over `payment_bulkhead_capacity` (at 1, calls are refused as `bulkhead_full`).
struct Bulkhead {
    slots: Semaphore,
    capacity: usize,
}

impl Bulkhead {
    fn new(capacity: usize) -> Self {
        service_runtime::ops::prometheus(); // the first gauges must not go to no recorder
        #[allow(clippy::cast_precision_loss)]
        metrics::gauge!("payment_bulkhead_capacity").set(capacity as f64);
        metrics::gauge!("payment_bulkhead_in_flight").set(0.0);
        Self {
            slots: Semaphore::new(capacity),
            capacity,
        }
    }

    fn try_enter(&self) -> Option<Place<'_>> {
        let permit = self.slots.try_acquire().ok()?;
        self.count(0);
        Some(Place {
            _permit: permit,
            bulkhead: self,
        })
    }

    /// Sets the gauge: the places taken, less `leaving` (a place being given back).
    fn count(&self, leaving: usize) {
        let taken = (self.capacity - self.slots.available_permits()).saturating_sub(leaving);
        #[allow(clippy::cast_precision_loss)]
        metrics::gauge!("payment_bulkhead_in_flight").set(taken as f64);
    }
}

/// A place in the bulkhead, given back when dropped (whether its call was made or not).
struct Place<'a> {
    _permit: SemaphorePermit<'a>,
    bulkhead: &'a Bulkhead,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        // The permit is released right after this, with the struct's fields.
        self.bulkhead.count(1);
    }
}

/// A [`PaymentPort`] behind the resilience policy.
pub struct Resilient<P> {
    inner: P,
    bulkhead: Bulkhead,
    breaker: CircuitBreaker,
    timeout: Duration,
    retries: RetryPolicy,
}

impl<P: PaymentPort> Resilient<P> {
    pub fn new(inner: P, settings: BreakerSettings) -> Self {
        Self {
            inner,
            bulkhead: Bulkhead::new(settings.max_concurrency),
            breaker: CircuitBreaker::new(&settings),
            timeout: settings.timeout,
            retries: RetryPolicy::new("payment").with_max_attempts(settings.max_attempts),
        }
    }
}

#[async_trait]
impl<P: PaymentPort> PaymentPort for Resilient<P> {
    async fn charge(&self, request: &ChargeRequest) -> Result<PaymentOutcome, PaymentError> {
        let slot = self.reserve()?;
        self.charge_in(slot, request).await
    }

    /// The bulkhead first (a full one refuses without asking the breaker, so no probe is spent
    /// on a call that cannot be made), then the breaker.
    fn reserve(&self) -> Result<Slot<'_>, PaymentError> {
        let started = Instant::now();
        let refused = match self.bulkhead.try_enter() {
            None => PaymentError::Saturated,
            Some(bulkhead) => match self.breaker.try_acquire() {
                Some(breaker) => {
                    return Ok(Slot {
                        bulkhead: Some(bulkhead),
                        breaker: Some(breaker),
                    });
                }
                None => PaymentError::BreakerOpen,
            },
        };
        record(&Err(refused.clone()), started);
        Err(refused)
    }

    #[tracing::instrument(name = "payment call", skip_all, fields(otel.kind = "client",
        order.id = %request.order_id, amount = request.amount, change = request.change_id.is_some()))]
    async fn charge_in(
        &self,
        slot: Slot<'_>,
        request: &ChargeRequest,
    ) -> Result<PaymentOutcome, PaymentError> {
        let started = Instant::now();
        let Slot {
            bulkhead,
            mut breaker,
        } = slot;
        self.retries.first_attempt();
        let mut attempt = 1;
        let outcome = loop {
            let outcome = self.try_once(request).await;
            if let Some(permit) = breaker.take() {
                permit.record(outcome.as_ref().is_err_and(PaymentError::is_failure));
            }
            let Err(error) = &outcome else {
                break outcome;
            };
            if !error.is_transient() {
                break outcome;
            }
            // The breaker first: an open one stops retries without spending the budget.
            let Some(permit) = self.breaker.try_acquire() else {
                break outcome;
            };
            let Some(wait) = self.retries.next_delay(attempt, Deadline::current()) else {
                break outcome;
            };
            tracing::info!(order.id = %request.order_id, %error, attempt,
                wait_ms = wait.as_millis() as u64, "asking payment again");
            tokio::time::sleep(wait).await;
            breaker = Some(permit);
            attempt += 1;
        };
        drop(bulkhead);
        record(&outcome, started);
        outcome
    }
}

impl<P: PaymentPort> Resilient<P> {
    /// One try within the timeout. Payment is told the time it has: the timeout, or less if
    /// the request has less.
    async fn try_once(&self, request: &ChargeRequest) -> Result<PaymentOutcome, PaymentError> {
        let own = Deadline::after(self.timeout);
        let deadline = Deadline::current().map_or(own, |request| request.min(own));
        tokio::time::timeout(self.timeout, deadline.scope(self.inner.charge(request)))
            .await
            .unwrap_or(Err(PaymentError::Timeout))
    }
}

/// Counts a call's outcome, refusals included: the histogram shows that a refusal (breaker
/// open, bulkhead full) costs microseconds here, whatever the rest of the request costs.
fn record(outcome: &Result<PaymentOutcome, PaymentError>, started: Instant) {
    let label = match outcome {
        Ok(PaymentOutcome::Approved { .. }) => "approved",
        Ok(PaymentOutcome::Declined) => "declined",
        Err(e) => {
            metrics::counter!("payment_calls_failed_total", "reason" => e.kind()).increment(1);
            e.kind()
        }
    };
    metrics::histogram!("payment_call_duration_seconds", "outcome" => label)
        .record(started.elapsed().as_secs_f64());
}

#[cfg(test)]
#[path = "resilience_tests.rs"]
mod tests;
