//! Fault injection for demonstrations of the order service's circuit breaker (the seeds delayed
//! payments by 400–620 ms against a 610 ms timeout). Off unless configured.
//!
//! The delay is the time payment takes to *answer* a new charge, counted from the moment the
//! request arrived: payment decides and records the charge first, then holds the answer back
//! until then, like a card network that is slow to reply. So a payment "answering in 400–620
//! ms" answers in 400–620 ms, its own work included (the seeds slept inside the JPA hook, which
//! put the database work on top of the delay). A repeated charge is answered from the ledger
//! at once, as an idempotency key should be: it asks the card network nothing. A call drawn to
//! fail is answered 503 at its answer time and records nothing.

use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// A delay drawn uniformly from `min_ms..=max_ms`; `0` (the default) is no delay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DelayRange {
    /// At most `maxMs`.
    #[schema(example = 400, maximum = 60_000)]
    #[serde(deserialize_with = "service_runtime::json::whole_unsigned")]
    pub min_ms: u64,
    /// At most 60000.
    #[schema(example = 620, maximum = 60_000)]
    #[serde(deserialize_with = "service_runtime::json::whole_unsigned")]
    pub max_ms: u64,
}

impl FromStr for DelayRange {
    type Err = String;

    /// `"400-620"` or `"500"`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parse = |v: &str| {
            v.trim()
                .parse::<u64>()
                .map_err(|e| format!("{v:?} is not a number of milliseconds: {e}"))
        };
        let (min_ms, max_ms) = match s.split_once('-') {
            Some((min, max)) => (parse(min)?, parse(max)?),
            None => (parse(s)?, parse(s)?),
        };
        if min_ms > max_ms {
            return Err(format!(
                "delay range {s:?} has its minimum above its maximum"
            ));
        }
        Ok(Self { min_ms, max_ms })
    }
}

/// The faults injected into payment calls, for demonstrations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FaultSettings {
    pub delay: DelayRange,
    /// The share of payment calls answered 503, 0.0–1.0.
    #[schema(example = 0.0, minimum = 0.0, maximum = 1.0)]
    pub failure_rate: f64,
}

impl FaultSettings {
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.failure_rate) {
            return Err(format!(
                "failureRate must be within 0..1, got {}",
                self.failure_rate
            ));
        }
        if self.delay.min_ms > self.delay.max_ms {
            return Err("delay.minMs must not exceed delay.maxMs".to_owned());
        }
        if self.delay.max_ms > 60_000 {
            return Err("delay.maxMs must not exceed 60000".to_owned());
        }
        Ok(())
    }
}

/// A payment call failed on purpose (a 503 at the HTTP edge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("payment failed (fault injection)")]
pub struct InjectedFailure;

/// The faults in force, changeable at run time by an admin.
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<RwLock<FaultSettings>>);

impl Faults {
    pub fn new(settings: FaultSettings) -> Self {
        Self(Arc::new(RwLock::new(settings)))
    }

    pub fn get(&self) -> FaultSettings {
        *self
            .0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn set(&self, settings: FaultSettings) {
        *self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = settings;
    }

    /// Draws the faults of a call that has just arrived: when it is to be answered, and
    /// whether it is to fail.
    pub fn draw(&self) -> Injected {
        let FaultSettings {
            delay,
            failure_rate,
        } = self.get();
        let mut rng = rand::rng();
        let wait = if delay.max_ms > 0 {
            rng.random_range(delay.min_ms..=delay.max_ms)
        } else {
            0
        };
        Injected {
            answer_at: Instant::now() + Duration::from_millis(wait),
            fail: failure_rate > 0.0 && rng.random_bool(failure_rate),
        }
    }
}

/// The faults drawn for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Injected {
    answer_at: Instant,
    fail: bool,
}

impl Injected {
    /// For a call drawn to fail: waits until its answer time, then fails it, before it has
    /// done anything. Otherwise returns at once.
    pub async fn fail_if_drawn(self) -> Result<(), InjectedFailure> {
        if self.fail {
            tokio::time::sleep_until(self.answer_at).await;
            return Err(InjectedFailure);
        }
        Ok(())
    }

    /// Holds a decided charge's answer until its answer time.
    pub async fn answer_time(self) {
        tokio::time::sleep_until(self.answer_at).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_ranges_parse_from_the_environment_format() {
        assert_eq!(
            "400-620".parse(),
            Ok(DelayRange {
                min_ms: 400,
                max_ms: 620
            })
        );
        assert_eq!(
            "500".parse(),
            Ok(DelayRange {
                min_ms: 500,
                max_ms: 500
            })
        );
        assert!("620-400".parse::<DelayRange>().is_err());
        assert!("soon".parse::<DelayRange>().is_err());
    }

    #[test]
    fn failure_rates_outside_zero_to_one_are_refused() {
        let mut settings = FaultSettings {
            failure_rate: 1.5,
            ..FaultSettings::default()
        };
        assert!(settings.validate().is_err());
        settings.failure_rate = 1.0;
        assert!(settings.validate().is_ok());
    }

    fn delayed(ms: u64, failure_rate: f64) -> Faults {
        Faults::new(FaultSettings {
            delay: DelayRange {
                min_ms: ms,
                max_ms: ms,
            },
            failure_rate,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_rate_of_one_fails_every_call_at_its_answer_time() {
        let started = Instant::now();
        let outcome = delayed(400, 1.0).draw().fail_if_drawn().await;
        assert_eq!(started.elapsed(), Duration::from_millis(400));
        assert_eq!(outcome, Err(InjectedFailure));
    }

    #[tokio::test(start_paused = true)]
    async fn the_delay_counts_from_the_calls_arrival_its_work_included() {
        let started = Instant::now();
        let injected = delayed(400, 0.0).draw();
        assert_eq!(injected.fail_if_drawn().await, Ok(()));
        assert_eq!(
            started.elapsed(),
            Duration::ZERO,
            "a healthy call works at once"
        );
        // The call's own work takes 150 ms of the 400.
        tokio::time::sleep(Duration::from_millis(150)).await;
        injected.answer_time().await;
        assert_eq!(started.elapsed(), Duration::from_millis(400));
    }
}
