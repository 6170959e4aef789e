//! Reading typed settings from environment variables.
//!
//! Each service documents its variables in its own `settings` module; this module knows how to
//! read one variable with a default and report a bad value clearly at start-up, and where each
//! process listens by default ([`ports`]). The variables read here, for every process:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `HOST` | `0.0.0.0` | the address the HTTP server (and the order service's gRPC server) binds |
//! | `PORT` | the process's `http` row of `ports.tsv` | the HTTP server's port |
//! | `HTTP_REUSE_PORT` | `false` | `true` lets a second process bind the same port, so that the local stack restarts a service beside its successor without a gap; containers do not need it |
//! | `HTTP_DRAIN_MS` | `1000` | how long a stopping process keeps serving, closing each connection after its answer, before it stops accepting (see [`crate::server`]) |
//! | `DATABASE_URL` | `postgres://fooddelivery:fooddelivery@127.0.0.1:5432/<service>` | a PostgreSQL-backed service's own database ([`crate::db`]) |
//! | `DATABASE_MAX_CONNECTIONS` | `10` | its pool size |
//! | `DATABASE_ACQUIRE_TIMEOUT_MS` | `5000` | how long background work waits for a pooled connection; a request waits at most until its deadline, when admission control cuts it off with a 503 |
//! | `LOG_FORMAT` | JSON unless the output is a terminal | `json`, or `pretty` / `text` ([`crate::telemetry`]) |
//! | `RUST_LOG` | `info`, the clients' and transports' crates at `warn` | the filter of logs and spans alike: keep this system's crates at `info` or finer for whole traces ([`crate::telemetry`]) |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | unset: spans are not exported | where spans go, OTLP over gRPC (e.g. `http://127.0.0.1:4317`) |
//! | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | unset | the same for traces alone; wins over the other |
//! | `OTEL_TRACES_SAMPLER_ARG` | `1.0` | the fraction of new traces recorded (0–1); work that continues a caller's trace follows the caller's decision |
//! | `OTEL_SDK_DISABLED` | `false` | `true`: no OpenTelemetry at all (the logs stay; each hop starts a trace of its own) |
//! | `ADMISSION_*` | see [`crate::admission::AdmissionSettings`] | admission control in front of the routes |

use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, anyhow};
use secrecy::SecretString;

pub mod ports;

/// The value of `name`, parsed, or `default` when it is unset or empty.
pub fn var<T>(name: &str, default: T) -> anyhow::Result<T>
where
    T: FromStr,
    T::Err: Display,
{
    match std::env::var(name) {
        Ok(raw) if !raw.trim().is_empty() => raw
            .trim()
            .parse()
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| format!("environment variable {name}={raw:?} is invalid")),
        _ => Ok(default),
    }
}

/// Like [`var`] for strings.
pub fn string(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// A secret (password, key, URL with credentials) that never appears in `Debug` output or logs.
pub fn secret(name: &str, default: &str) -> SecretString {
    SecretString::from(string(name, default))
}

/// Where the HTTP server listens, and how it stops: `HOST`, `PORT`, `HTTP_REUSE_PORT` and
/// `HTTP_DRAIN_MS` (see the table above).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub host: String,
    pub port: u16,
    pub reuse_port: bool,
    pub drain: Duration,
}

impl HttpSettings {
    pub fn from_env(default_port: u16) -> anyhow::Result<Self> {
        Ok(Self {
            host: string("HOST", "0.0.0.0"),
            port: var("PORT", default_port)?,
            reuse_port: var("HTTP_REUSE_PORT", false)?,
            drain: Duration::from_millis(var("HTTP_DRAIN_MS", 1000)?),
        })
    }

    /// A free port on the loopback interface, stopping at once (tests).
    pub fn loopback() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 0,
            reuse_port: false,
            drain: Duration::ZERO,
        }
    }

    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}
