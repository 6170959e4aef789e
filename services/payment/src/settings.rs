//! Configuration, from the environment.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `PORT` | `8082` | HTTP port (and the shared service variables, see `backbone::ServiceSettings`) |
//! | `PAYMENT_DECLINE_ABOVE` | `1000000` | amounts above this (won) are declined |
//! | `PAYMENT_FAULT_DELAY_MS` | `0` | injected delay: the time to answer a new charge, counted from its arrival (its work included; a repeat answers at once), `MIN-MAX` or `N` ms (e.g. `400-620`) |
//! | `PAYMENT_FAULT_FAILURE_RATE` | `0` | share of payment calls answered 503, 0.0–1.0 |
//! | `ADMISSION_MIN_LIMIT`, `ADMISSION_MAX_LIMIT`, `ADMISSION_INITIAL_LIMIT` | `128` | here a fixed limit: the order service's payment bulkhead (122) with room; see [`ADMISSION_LIMIT`] |

use backbone::ServiceSettings;
use service_runtime::admission::AdmissionSettings;
use service_runtime::settings::{ports, var};

/// Payment calls in progress at once. The order service's bulkhead decides how many payments
/// are in flight (122 by default, by Little's law for its timeout); a payment that is slow
/// (its card network, or the injected delay of the seeds' experiment) holds its slot while it
/// waits, costing nothing here. A limit that shrank with latency would turn a slow payment
/// service into a failing one, and open the order service's breaker: so it is fixed, and
/// above the caller's bulkhead.
pub const ADMISSION_LIMIT: usize = 128;

use crate::faults::FaultSettings;

#[derive(Debug, Clone)]
pub struct Settings {
    pub service: ServiceSettings,
    pub decline_above: i64,
    pub faults: FaultSettings,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        let service = ServiceSettings::from_env_admitting(
            "payment",
            ports::PAYMENT,
            AdmissionSettings::fixed(ADMISSION_LIMIT),
        )?;
        Ok(Self {
            service,
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
