//! Configuration, from the environment.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `PORT` | `8081` | HTTP port (and the shared service variables, see `backbone::ServiceSettings`) |
//! | `PAYMENT_URL` | `http://127.0.0.1:8082` | the payment service (a service name in Kubernetes) |
//! | `PAYMENT_TIMEOUT_MS` | `610` | payment answers later than this are failures |
//! | `PAYMENT_TARGET_RATE` | `200` | payment calls a second the bulkhead is sized for |
//! | `PAYMENT_MAX_CONCURRENCY` | rate × timeout (`122`) | payment calls in flight at once (bulkhead; Little's law) |
//! | `PAYMENT_BREAKER_FAILURE_RATE` | `50` | percentage of failed calls in the window that opens the breaker |
//! | `PAYMENT_BREAKER_MIN_CALLS` | `20` | calls in the window before their failure rate counts |
//! | `PAYMENT_BREAKER_WINDOW_MS` | `10000` | the sliding window of the failure rate |
//! | `PAYMENT_BREAKER_OPEN_MS` | `5000` | how long the breaker stays open before probing (and the 503's `Retry-After`) |
//! | `PAYMENT_BREAKER_PROBES` | `1` | calls let through half-open; their failure rate decides |
//! | `ORDER_REPAIR_INTERVAL_MS` | `10000` | how often stuck PaymentPending orders are re-driven |
//! | `ORDER_REPAIR_AFTER_MS` | `30000` | age at which a PaymentPending order counts as stuck |
//! | `ORDER_REPAIR_GIVE_UP_MS` | `300000` | age at which a stuck order fails (and is refunded) |

use std::time::Duration;

use anyhow::bail;
use backbone::ServiceSettings;
use service_runtime::settings::{string, var};

use crate::payments::{BreakerSettings, bulkhead_for};
use crate::repair::RepairSettings;

#[derive(Debug, Clone)]
pub struct Settings {
    pub service: ServiceSettings,
    pub payment_url: String,
    pub breaker: BreakerSettings,
    pub repair: RepairSettings,
}

fn millis(name: &str, default: u64) -> anyhow::Result<Duration> {
    Ok(Duration::from_millis(var(name, default)?))
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            service: ServiceSettings::from_env("order", 8081)?,
            payment_url: string("PAYMENT_URL", "http://127.0.0.1:8082"),
            breaker: breaker_from_env()?,
            repair: RepairSettings {
                interval: millis("ORDER_REPAIR_INTERVAL_MS", 10_000)?,
                stuck_after: millis("ORDER_REPAIR_AFTER_MS", 30_000)?,
                give_up_after: millis("ORDER_REPAIR_GIVE_UP_MS", 300_000)?,
            },
        })
    }
}

fn breaker_from_env() -> anyhow::Result<BreakerSettings> {
    if std::env::var_os("PAYMENT_BREAKER_FAILURES").is_some() {
        // Silently ignoring it would leave someone believing the old policy is in force.
        bail!(
            "PAYMENT_BREAKER_FAILURES is retired: the breaker opens on a failure rate \
             (PAYMENT_BREAKER_FAILURE_RATE of at least PAYMENT_BREAKER_MIN_CALLS calls \
             in PAYMENT_BREAKER_WINDOW_MS)"
        );
    }
    let defaults = BreakerSettings::default();
    let timeout = millis("PAYMENT_TIMEOUT_MS", 610)?;
    let target_rate = var("PAYMENT_TARGET_RATE", crate::payments::TARGET_RATE)?;
    let settings = BreakerSettings {
        timeout,
        max_concurrency: var(
            "PAYMENT_MAX_CONCURRENCY",
            bulkhead_for(target_rate, timeout),
        )?,
        failure_rate: var("PAYMENT_BREAKER_FAILURE_RATE", defaults.failure_rate)?,
        min_calls: var("PAYMENT_BREAKER_MIN_CALLS", defaults.min_calls)?,
        window: millis("PAYMENT_BREAKER_WINDOW_MS", 10_000)?,
        open_for: millis("PAYMENT_BREAKER_OPEN_MS", 5000)?,
        probes: var("PAYMENT_BREAKER_PROBES", defaults.probes)?,
    };
    if let Err(e) = settings.validate() {
        bail!("payment resilience settings: {e}");
    }
    Ok(settings)
}
