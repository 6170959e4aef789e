//! The circuit breaker: it opens on the *rate* of failures over a sliding time window, so a
//! slow-but-healthy payment service (a few timeouts among many answers) keeps being called,
//! while a broken one is shed after a handful of calls.
//!
//! - **Closed**: every call goes through; outcomes are counted in `window`, split into ten
//!   buckets (so the window slides in steps of a tenth and covers the last 90–100 % of it).
//!   Once at least `min_calls` outcomes are in the window and at least `failure_rate` percent of
//!   them failed, it opens; and whatever else the window holds, `min_calls` failures in a row
//!   within it open it. The rate alone would not do for a service that breaks all at once: a window full of
//!   the healthy answers of the seconds before (200 at 40 calls a second) takes as many
//!   failures again to reach 50 %, seconds of failed orders. A run of `min_calls` failures is
//!   no accident of a slow-but-healthy service (at its 5–9 % of timeouts, a run of 20 has a
//!   chance of about 10⁻²¹), so the run rule cuts a broken service off after `min_calls`
//!   calls without shedding a healthy one.
//! - **Open**: calls are refused without being made, for `open_for`.
//! - **Half-open**: the first `probes` calls after that go through, the others are refused. It
//!   closes as soon as the probes' failure rate can no longer reach `failure_rate`, and opens
//!   again as soon as it must (with one probe: a success closes, a failure re-opens).
//!
//! Every change of state starts a new epoch, and an outcome counts only in the epoch its call
//! was admitted in: calls that were in flight when the breaker opened do not decide a half-open
//! breaker, nor leave stale failures in a fresh window. A call dropped before its outcome (the
//! client went away) counts for nothing and gives its probe slot back.
//!
//! Not `failsafe`: its rate policy (`success_rate_over_time_window`) is an exponential moving
//! average whose weight per call shrinks with the call rate, cannot open at all during the
//! first window after start-up or after closing, and its half-open state admits every call.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::BreakerSettings;

const BUCKETS: usize = 10;

/// A call the breaker let through. Report its outcome with [`Permit::record`]; dropping it
/// unreported counts for nothing.
#[must_use = "a call's outcome must be recorded for the breaker to learn from it"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    epoch: u64,
    recorded: bool,
}

impl Permit<'_> {
    pub fn record(mut self, failed: bool) {
        self.recorded = true;
        self.breaker.record(self.epoch, failed);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.recorded {
            self.breaker.abandon(self.epoch);
        }
    }
}

pub struct CircuitBreaker {
    failure_rate: u64,
    min_calls: u64,
    open_for: Duration,
    probes: u32,
    inner: Mutex<Inner>,
}

struct Inner {
    state: State,
    epoch: u64,
    window: Window,
    /// Failures in a row, in the order their outcomes came, while closed, and when the last
    /// of them came (a run older than the window is over).
    failures_in_a_row: u64,
    last_failure: Option<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    Open {
        until: Instant,
    },
    HalfOpen {
        admitted: u32,
        successes: u32,
        failures: u32,
    },
}

/// A change of state, announced once the lock is released.
enum Transition {
    Opened { calls: u64, failures: u64 },
    HalfOpened,
    Reopened,
    Closed,
}

impl CircuitBreaker {
    pub fn new(settings: &BreakerSettings) -> Self {
        service_runtime::ops::prometheus(); // the first gauges must not go to no recorder
        gauges(BreakerState::Closed);
        Self {
            failure_rate: u64::from(settings.failure_rate),
            min_calls: u64::from(settings.min_calls),
            open_for: settings.open_for,
            probes: settings.probes,
            inner: Mutex::new(Inner {
                state: State::Closed,
                epoch: 0,
                window: Window::new(settings.window),
                failures_in_a_row: 0,
                last_failure: None,
            }),
        }
    }

    /// Lets a call through, or `None` when the breaker refuses it.
    pub fn try_acquire(&self) -> Option<Permit<'_>> {
        let now = Instant::now();
        let mut transition = None;
        let admitted = {
            let mut guard = self.lock();
            let inner = &mut *guard;
            match inner.state {
                State::Closed => Some(inner.epoch),
                State::Open { until } if now < until => None,
                State::Open { .. } => {
                    inner.enter(State::HalfOpen {
                        admitted: 1,
                        successes: 0,
                        failures: 0,
                    });
                    transition = Some(Transition::HalfOpened);
                    Some(inner.epoch)
                }
                State::HalfOpen {
                    ref mut admitted, ..
                } if *admitted < self.probes => {
                    *admitted += 1;
                    Some(inner.epoch)
                }
                State::HalfOpen { .. } => None,
            }
        };
        announce(transition);
        admitted.map(|epoch| Permit {
            breaker: self,
            epoch,
            recorded: false,
        })
    }

    fn record(&self, epoch: u64, failed: bool) {
        let now = Instant::now();
        let transition = {
            let mut guard = self.lock();
            let inner = &mut *guard;
            if inner.epoch != epoch {
                return;
            }
            match inner.state {
                State::Closed => {
                    inner.window.record(now, failed);
                    inner.count_in_a_row(now, failed);
                    let (calls, failures) = inner.window.totals(now);
                    let rate_reached =
                        calls >= self.min_calls && failures * 100 >= self.failure_rate * calls;
                    let run_reached = inner.failures_in_a_row >= self.min_calls;
                    (rate_reached || run_reached).then(|| {
                        inner.enter(State::Open {
                            until: now + self.open_for,
                        });
                        Transition::Opened { calls, failures }
                    })
                }
                State::HalfOpen {
                    admitted,
                    mut successes,
                    mut failures,
                } => {
                    if failed {
                        failures += 1;
                    } else {
                        successes += 1;
                    }
                    let probes = u64::from(self.probes);
                    let at_most_failing = u64::from(self.probes.saturating_sub(successes));
                    if u64::from(failures) * 100 >= self.failure_rate * probes {
                        inner.enter(State::Open {
                            until: now + self.open_for,
                        });
                        Some(Transition::Reopened)
                    } else if at_most_failing * 100 < self.failure_rate * probes {
                        inner.enter(State::Closed);
                        Some(Transition::Closed)
                    } else {
                        inner.state = State::HalfOpen {
                            admitted,
                            successes,
                            failures,
                        };
                        None
                    }
                }
                // Opening starts a new epoch, so no permit of this one is still out.
                State::Open { .. } => None,
            }
        };
        announce(transition);
    }

    fn abandon(&self, epoch: u64) {
        let mut inner = self.lock();
        if inner.epoch != epoch {
            return;
        }
        if let State::HalfOpen {
            ref mut admitted, ..
        } = inner.state
        {
            *admitted -= 1;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing under the lock can panic half-way through a change of state.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn enter(&mut self, state: State) {
        self.state = state;
        self.epoch += 1;
        self.window.clear();
        self.failures_in_a_row = 0;
    }

    fn count_in_a_row(&mut self, now: Instant, failed: bool) {
        let run_is_recent = self
            .last_failure
            .is_some_and(|last| now.duration_since(last) < self.window.span());
        self.failures_in_a_row = match (failed, run_is_recent) {
            (false, _) => 0,
            (true, true) => self.failures_in_a_row + 1,
            (true, false) => 1,
        };
        if failed {
            self.last_failure = Some(now);
        }
    }
}

fn announce(transition: Option<Transition>) {
    let Some(transition) = transition else { return };
    let state = match transition {
        Transition::Opened { calls, failures } => {
            tracing::warn!(
                breaker.calls = calls,
                breaker.failures = failures,
                "payment circuit breaker opened: payment calls are shed"
            );
            BreakerState::Open
        }
        Transition::HalfOpened => {
            tracing::info!("payment circuit breaker half-open: probing");
            BreakerState::HalfOpen
        }
        Transition::Reopened => {
            tracing::warn!("payment circuit breaker probe failed: open again");
            BreakerState::Open
        }
        Transition::Closed => {
            tracing::info!("payment circuit breaker closed");
            BreakerState::Closed
        }
    };
    metrics::counter!("payment_breaker_transitions_total", "to" => state.name()).increment(1);
    gauges(state);
}

/// The breaker's state as Prometheus sees it: `payment_breaker_state` (0 closed, 1 half-open,
/// 2 open, so that "above 0" means "not taking every call") and `payment_breaker_open` (1 unless
/// closed, as it always was: half-open is still open to all but the probes).
#[derive(Debug, Clone, Copy)]
enum BreakerState {
    Closed = 0,
    HalfOpen = 1,
    Open = 2,
}

impl BreakerState {
    fn name(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::HalfOpen => "half_open",
            BreakerState::Open => "open",
        }
    }
}

fn gauges(state: BreakerState) {
    metrics::gauge!("payment_breaker_state").set(f64::from(state as u8));
    let closed = matches!(state, BreakerState::Closed);
    metrics::gauge!("payment_breaker_open").set(if closed { 0.0 } else { 1.0 });
}

/// Outcomes over a sliding time window, in buckets of a tenth of it.
struct Window {
    origin: Instant,
    bucket_nanos: u128,
    buckets: [Bucket; BUCKETS],
}

#[derive(Debug, Default, Clone, Copy)]
struct Bucket {
    /// Which bucket-long slice of time since `origin` the counts are for.
    slice: u64,
    calls: u64,
    failures: u64,
}

impl Window {
    fn new(length: Duration) -> Self {
        Self {
            origin: Instant::now(),
            bucket_nanos: (length.as_nanos() / BUCKETS as u128).max(1),
            buckets: [Bucket::default(); BUCKETS],
        }
    }

    /// The window's length.
    fn span(&self) -> Duration {
        let nanos = self.bucket_nanos * BUCKETS as u128;
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    fn slice(&self, now: Instant) -> u64 {
        let slice = now.saturating_duration_since(self.origin).as_nanos() / self.bucket_nanos;
        u64::try_from(slice).unwrap_or(u64::MAX)
    }

    fn record(&mut self, now: Instant, failed: bool) {
        let slice = self.slice(now);
        let bucket = &mut self.buckets[(slice % BUCKETS as u64) as usize];
        if bucket.slice != slice {
            *bucket = Bucket {
                slice,
                ..Bucket::default()
            };
        }
        bucket.calls += 1;
        bucket.failures += u64::from(failed);
    }

    /// Calls and failures in the window ending now.
    fn totals(&self, now: Instant) -> (u64, u64) {
        let current = self.slice(now);
        self.buckets
            .iter()
            .filter(|b| current.saturating_sub(b.slice) < BUCKETS as u64)
            .fold((0, 0), |(calls, failures), b| {
                (calls + b.calls, failures + b.failures)
            })
    }

    fn clear(&mut self) {
        self.buckets = [Bucket::default(); BUCKETS];
    }
}
