//! Configuration, from the environment.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `PORT` | `8081` | HTTP port (and the shared service variables, see `backbone::ServiceSettings`) |
//! | `PAYMENT_URL` | `http://127.0.0.1:8082` | the payment service (a service name in Kubernetes) |
//! | `PAYMENT_TIMEOUT_MS` | `610` | payment answers later than this are failures |
//! | `PAYMENT_MAX_CONCURRENCY` | `128` | payment calls in flight at once (bulkhead) |
//! | `PAYMENT_BREAKER_FAILURES` | `5` | consecutive failures that open the circuit breaker |
//! | `PAYMENT_BREAKER_OPEN_MS` | `5000` | how long the breaker stays open before probing |
//! | `ORDER_REPAIR_INTERVAL_MS` | `10000` | how often stuck PaymentPending orders are re-driven |
//! | `ORDER_REPAIR_AFTER_MS` | `30000` | age at which a PaymentPending order counts as stuck |
//! | `ORDER_REPAIR_GIVE_UP_MS` | `300000` | age at which a stuck order fails (and is refunded) |

use std::time::Duration;

use backbone::ServiceSettings;
use service_runtime::settings::{string, var};

use crate::payments::BreakerSettings;
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
        let defaults = BreakerSettings::default();
        Ok(Self {
            service: ServiceSettings::from_env("order", 8081)?,
            payment_url: string("PAYMENT_URL", "http://127.0.0.1:8082"),
            breaker: BreakerSettings {
                timeout: millis("PAYMENT_TIMEOUT_MS", 610)?,
                max_concurrency: var("PAYMENT_MAX_CONCURRENCY", defaults.max_concurrency)?,
                failures: var("PAYMENT_BREAKER_FAILURES", defaults.failures)?,
                open_for: millis("PAYMENT_BREAKER_OPEN_MS", 5000)?,
            },
            repair: RepairSettings {
                interval: millis("ORDER_REPAIR_INTERVAL_MS", 10_000)?,
                stuck_after: millis("ORDER_REPAIR_AFTER_MS", 30_000)?,
                give_up_after: millis("ORDER_REPAIR_GIVE_UP_MS", 300_000)?,
            },
        })
    }
}
