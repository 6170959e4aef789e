//! Fault injection for demonstrations of the order service's circuit breaker (the seeds delayed
//! payments by 400–620 ms against a 610 ms timeout). Off unless configured.

use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

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

    /// Waits the injected delay, then fails the injected share of calls.
    pub async fn inject(&self) -> Result<(), InjectedFailure> {
        let FaultSettings {
            delay,
            failure_rate,
        } = self.get();
        let (wait, fail) = {
            let mut rng = rand::rng();
            let wait = if delay.max_ms > 0 {
                rng.random_range(delay.min_ms..=delay.max_ms)
            } else {
                0
            };
            (wait, failure_rate > 0.0 && rng.random_bool(failure_rate))
        };
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
        if fail {
            return Err(InjectedFailure);
        }
        Ok(())
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

    #[tokio::test(start_paused = true)]
    async fn a_failure_rate_of_one_fails_every_call_after_the_delay() {
        let faults = Faults::new(FaultSettings {
            delay: DelayRange {
                min_ms: 400,
                max_ms: 400,
            },
            failure_rate: 1.0,
        });
        let started = tokio::time::Instant::now();
        let outcome = faults.inject().await;
        assert_eq!(started.elapsed(), Duration::from_millis(400));
        assert_eq!(outcome, Err(InjectedFailure));
    }
}
