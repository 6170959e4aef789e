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
//! | `PAYMENT_BREAKER_MIN_CALLS` | `20` | calls in the window before their failure rate counts; as many failures in a row within it open the breaker too |
//! | `PAYMENT_BREAKER_WINDOW_MS` | `10000` | the sliding window of the failure rate |
//! | `PAYMENT_BREAKER_OPEN_MS` | `5000` | how long the breaker stays open before probing (and the 503's `Retry-After`) |
//! | `PAYMENT_BREAKER_PROBES` | `1` | calls let through half-open; their failure rate decides |
//! | `PAYMENT_MAX_ATTEMPTS` | `2` | tries per charge, the first included: a try that got no answer (timeout, no connection, 502–504) is made again within a retry budget of a tenth of the calls; `1` retries nothing |
//! | `ADMISSION_MIN_LIMIT`, `ADMISSION_MAX_LIMIT`, `ADMISSION_INITIAL_LIMIT` | `163` | here a fixed limit: what the payment bulkhead carries within new work's share (`PAYMENT_MAX_CONCURRENCY` / 0.75); the other `ADMISSION_*` as every service |
//! | `ORDER_ATTEMPT_MARGIN_MS` | `1000` | an attempt's lease on a PaymentPending order beyond the payment call's longest time (its tries' timeouts and the wait between them): after it, a retry or the repair takes the order over |
//! | `ORDER_REPAIR_INTERVAL_MS` | `1000` | how often abandoned PaymentPending orders are looked for (and at start-up) |
//! | `ORDER_REPAIR_GIVE_UP_MS` | `300000` | age at which an abandoned order whose payment is still unavailable fails (and is refunded) |
//! | `GRPC_PORT` | `9081` | the gRPC server's port (same `HOST` and `HTTP_REUSE_PORT` as HTTP) |
//! | `GRPC_MAX_WATCHES` | `256` | `WatchOrder` streams open at once; more are refused with `RESOURCE_EXHAUSTED` |
//! | `GRPC_WATCH_POLL_MS` | `500` | how often a `WatchOrder` stream reads its order's status |
//! | `ORDER_FAULT_FREEZE_AFTER_PAYMENT` | `false` | tests only: every attempt stops dead between the payment's answer and its record, as if killed there |
//! | `ORDER_REPAIR_AFTER_MS` | — | retired, refused at start-up: an abandoned order is taken over when its attempt's lease has run out |
//! | `PAYMENT_BREAKER_FAILURES` | — | retired, refused at start-up: the breaker opens on a failure rate |
//!
//! The payment policy's defaults (the `PAYMENT_*` constants, also those of
//! [`BreakerSettings::default`]) are defined once, beside the policy in `payments`.

use std::time::Duration;

use anyhow::bail;
use backbone::ServiceSettings;
use service_runtime::admission::AdmissionSettings;
use service_runtime::settings::{HttpSettings, ports, string, var};

use crate::grpc::GrpcSettings;
use crate::payments::{
    BreakerSettings, PAYMENT_BREAKER_FAILURE_RATE, PAYMENT_BREAKER_MIN_CALLS,
    PAYMENT_BREAKER_OPEN_MS, PAYMENT_BREAKER_PROBES, PAYMENT_BREAKER_WINDOW_MS,
    PAYMENT_MAX_ATTEMPTS, PAYMENT_TIMEOUT_MS, bulkhead_for,
};
use crate::repair::RepairSettings;

#[derive(Debug, Clone)]
pub struct Settings {
    pub service: ServiceSettings,
    pub payment_url: String,
    pub breaker: BreakerSettings,
    pub repair: RepairSettings,
    pub grpc: GrpcSettings,
    /// The test-only fault point of [`crate::use_cases::Attempts`].
    pub freeze_after_payment: bool,
}

fn millis(name: &str, default: u64) -> anyhow::Result<Duration> {
    Ok(Duration::from_millis(var(name, default)?))
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        let breaker = breaker_from_env()?;
        let service = ServiceSettings::from_env_admitting(
            "order",
            ports::ORDER,
            admission_defaults(&breaker),
        )?;
        let grpc = GrpcSettings {
            http: HttpSettings {
                port: var("GRPC_PORT", ports::ORDER_GRPC)?,
                ..service.http.clone()
            },
            max_watches: var("GRPC_MAX_WATCHES", 256)?,
            watch_poll: millis("GRPC_WATCH_POLL_MS", 500)?,
        };
        Ok(Self {
            service,
            payment_url: string("PAYMENT_URL", &ports::local_url(ports::PAYMENT)),
            breaker,
            repair: repair_from_env()?,
            grpc,
            freeze_after_payment: var("ORDER_FAULT_FREEZE_AFTER_PAYMENT", false)?,
        })
    }
}

/// Admission control's defaults here: a fixed limit, sized by Little's law like the payment
/// bulkhead. A new order holds its slot while payment answers (up to the payment timeout), so
/// the limit must carry what the bulkhead carries within new work's share: 122 / 0.75 = 163
/// by default. A limit that shrank when requests slow down would refuse the seeds'
/// slow-but-healthy payment experiment at its floor; past capacity the fixed limit still
/// refuses at once what cannot start, and the bulkhead and breaker guard payment itself.
/// (Set `ADMISSION_MIN_LIMIT` lower to let it adapt: the time spent waiting on payment is left
/// out of the latency it adapts to.)
fn admission_defaults(breaker: &BreakerSettings) -> AdmissionSettings {
    let defaults = AdmissionSettings::default();
    let new_work_share = 1.0 - defaults.reserved_share;
    let covers_payment = (breaker.max_concurrency as f64 / new_work_share).ceil() as usize;
    AdmissionSettings::fixed(covers_payment.max(defaults.max_limit))
}

fn repair_from_env() -> anyhow::Result<RepairSettings> {
    if std::env::var_os("ORDER_REPAIR_AFTER_MS").is_some() {
        bail!(
            "ORDER_REPAIR_AFTER_MS is retired: an abandoned order is taken over when its \
             attempt's lease (the payment call's longest time + ORDER_ATTEMPT_MARGIN_MS) has run out"
        );
    }
    Ok(RepairSettings {
        interval: millis("ORDER_REPAIR_INTERVAL_MS", 1000)?,
        margin: millis("ORDER_ATTEMPT_MARGIN_MS", 1000)?,
        give_up_after: millis("ORDER_REPAIR_GIVE_UP_MS", 300_000)?,
    })
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
    let timeout = millis("PAYMENT_TIMEOUT_MS", PAYMENT_TIMEOUT_MS)?;
    let target_rate = var("PAYMENT_TARGET_RATE", crate::payments::TARGET_RATE)?;
    let settings = BreakerSettings {
        timeout,
        max_concurrency: var(
            "PAYMENT_MAX_CONCURRENCY",
            bulkhead_for(target_rate, timeout),
        )?,
        failure_rate: var("PAYMENT_BREAKER_FAILURE_RATE", PAYMENT_BREAKER_FAILURE_RATE)?,
        min_calls: var("PAYMENT_BREAKER_MIN_CALLS", PAYMENT_BREAKER_MIN_CALLS)?,
        window: millis("PAYMENT_BREAKER_WINDOW_MS", PAYMENT_BREAKER_WINDOW_MS)?,
        open_for: millis("PAYMENT_BREAKER_OPEN_MS", PAYMENT_BREAKER_OPEN_MS)?,
        probes: var("PAYMENT_BREAKER_PROBES", PAYMENT_BREAKER_PROBES)?,
        max_attempts: var("PAYMENT_MAX_ATTEMPTS", PAYMENT_MAX_ATTEMPTS)?,
    };
    if let Err(e) = settings.validate() {
        bail!("payment resilience settings: {e}");
    }
    Ok(settings)
}
