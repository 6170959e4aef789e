//! Configuration, from the environment.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `PORT` | `8082` | HTTP port (and the shared service variables, see `backbone::ServiceSettings`) |
//! | `PAYMENT_DECLINE_ABOVE` | `1000000` | amounts above this (won) are declined |
//! | `PAYMENT_FAULT_DELAY_MS` | `0` | injected delay per payment, `MIN-MAX` or `N` ms (e.g. `400-620`) |
//! | `PAYMENT_FAULT_FAILURE_RATE` | `0` | share of payment calls answered 503, 0.0–1.0 |

use backbone::ServiceSettings;
use service_runtime::settings::var;

use crate::faults::FaultSettings;

#[derive(Debug, Clone)]
pub struct Settings {
    pub service: ServiceSettings,
    pub decline_above: i64,
    pub faults: FaultSettings,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            service: ServiceSettings::from_env("payment", 8082)?,
            decline_above: var("PAYMENT_DECLINE_ABOVE", 1_000_000)?,
            faults: FaultSettings {
                delay: var(
                    "PAYMENT_FAULT_DELAY_MS",
                    crate::faults::DelayRange::default(),
                )?,
                failure_rate: var("PAYMENT_FAULT_FAILURE_RATE", 0.0)?,
            },
        })
    }
}
