//! Requests per caller, so that one user (or one address, before it has signed in) cannot take
//! the platform for itself. A generic cell rate per key: a sustained rate plus a burst.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use service_runtime::Problem;
use tokio_util::sync::CancellationToken;

use crate::settings::RateLimitSettings;

/// Whose budget a request spends.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Caller {
    User(String),
    Address(IpAddr),
}

#[derive(Clone)]
pub struct RateLimiter {
    limiter: Arc<DefaultKeyedRateLimiter<Caller>>,
    clock: DefaultClock,
}

/// How often callers that have been idle long enough to be back at a full burst are forgotten.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

impl RateLimiter {
    pub fn new(settings: RateLimitSettings) -> Self {
        let quota = Quota::per_second(settings.per_second).allow_burst(settings.burst);
        Self {
            limiter: Arc::new(DefaultKeyedRateLimiter::keyed(quota)),
            clock: DefaultClock::default(),
        }
    }

    /// Spends one request of `caller`'s budget, or a 429 saying when to come back.
    pub fn check(&self, caller: &Caller) -> Result<(), Problem> {
        self.limiter.check_key(caller).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            tracing::info!(caller = kind(caller), "rate limited");
            Problem::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests; slow down",
            )
            .with_retry_after(retry_after_seconds(wait))
        })
    }

    /// Keeps memory bounded: drops callers with a full budget every minute until `shutdown`.
    pub fn spawn_sweeper(&self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        let limiter = Arc::clone(&self.limiter);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_INTERVAL);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        limiter.retain_recent();
                        limiter.shrink_to_fit();
                    }
                    () = shutdown.cancelled() => break,
                }
            }
        })
    }
}

fn kind(caller: &Caller) -> &'static str {
    match caller {
        Caller::User(_) => "user",
        Caller::Address(_) => "address",
    }
}

/// Whole seconds, rounded up and at least 1 (`Retry-After: 0` would invite a retry storm).
fn retry_after_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn limiter(per_second: u32, burst: u32) -> RateLimiter {
        RateLimiter::new(RateLimitSettings {
            per_second: NonZeroU32::new(per_second).unwrap(),
            burst: NonZeroU32::new(burst).unwrap(),
        })
    }

    #[test]
    fn a_burst_passes_then_the_next_request_is_a_429_with_retry_after() {
        let limiter = limiter(1, 3);
        let alice = Caller::User("alice".into());
        for _ in 0..3 {
            limiter.check(&alice).unwrap();
        }
        let problem = limiter.check(&alice).unwrap_err();
        assert_eq!(problem.status, axum::http::StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(problem.retry_after, Some(1));
    }

    #[test]
    fn callers_have_separate_budgets() {
        let limiter = limiter(1, 1);
        limiter.check(&Caller::User("alice".into())).unwrap();
        assert!(limiter.check(&Caller::User("alice".into())).is_err());
        limiter.check(&Caller::User("bob".into())).unwrap();
        limiter
            .check(&Caller::Address([127, 0, 0, 1].into()))
            .unwrap();
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(10)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1_001)), 2);
        assert_eq!(retry_after_seconds(Duration::from_secs(3)), 3);
    }
}
