//! The settings every PostgreSQL-backed service shares, read once here so that each service's
//! own settings only add what is particular to it.

use std::time::Duration;

use service_runtime::admission::AdmissionSettings;

use crate::kafka::KafkaSettings;

/// The settings every PostgreSQL-backed service has:
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `HOST`, `PORT` | `0.0.0.0`, per service | where the HTTP server listens |
/// | `DATABASE_URL` | `postgres://fooddelivery:fooddelivery@127.0.0.1:5432/<service>` | its own database |
/// | `DATABASE_MAX_CONNECTIONS` | `10` | pool size |
/// | `DATABASE_ACQUIRE_TIMEOUT_MS` | `5000` | longest wait for a pooled connection (a request waits at most until its deadline) |
/// | `REQUEST_TIMEOUT_MS` | `10000` | a request taking longer is answered 503; also its deadline when the caller sent none |
/// | `ADMISSION_*` | see [`AdmissionSettings`] | admission control in front of the service's routes |
/// | Kafka variables | see [`KafkaSettings`] | |
/// | `OUTBOX_FAULT_FREEZE_AFTER_PUBLISH` | `false` | tests only: the relay stops dead after publishing a batch, before marking it (`./dev chaos r4` kills it there) |
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    pub http: service_runtime::settings::HttpSettings,
    pub database: service_runtime::db::DatabaseSettings,
    pub kafka: KafkaSettings,
    pub request_timeout: Duration,
    pub admission: AdmissionSettings,
    pub freeze_after_publish: bool,
}

impl ServiceSettings {
    pub fn from_env(service: &str, default_port: u16) -> anyhow::Result<Self> {
        Self::from_env_admitting(service, default_port, AdmissionSettings::default())
    }

    /// The same, with admission control's defaults of a service whose requests need other
    /// limits than most (the `ADMISSION_*` variables still override them).
    pub fn from_env_admitting(
        service: &str,
        default_port: u16,
        admission: AdmissionSettings,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            http: service_runtime::settings::HttpSettings::from_env(default_port)?,
            database: service_runtime::db::DatabaseSettings::from_env(service)?,
            kafka: KafkaSettings::from_env(service)?,
            request_timeout: request_timeout_from_env()?,
            admission: AdmissionSettings::from_env(admission)?,
            freeze_after_publish: service_runtime::settings::var(
                "OUTBOX_FAULT_FREEZE_AFTER_PUBLISH",
                false,
            )?,
        })
    }
}

/// The default of `REQUEST_TIMEOUT_MS`.
pub const REQUEST_TIMEOUT_MS: u64 = 10_000;

/// `REQUEST_TIMEOUT_MS`, for a service that reads its other settings itself (mypage).
pub fn request_timeout_from_env() -> anyhow::Result<Duration> {
    Ok(Duration::from_millis(service_runtime::settings::var(
        "REQUEST_TIMEOUT_MS",
        REQUEST_TIMEOUT_MS,
    )?))
}
