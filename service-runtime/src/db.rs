//! The PostgreSQL connection pool every relational service uses.

use std::time::Duration;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// `DATABASE_URL`, `DATABASE_MAX_CONNECTIONS` (default 10) and `DATABASE_ACQUIRE_TIMEOUT_MS`
/// (default 5000: how long background work waits for a free connection; a request waits at most
/// until its deadline, when admission control cuts it off with a 503).
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl DatabaseSettings {
    pub fn from_env(default_database: &str) -> anyhow::Result<Self> {
        let default_url =
            format!("postgres://fooddelivery:fooddelivery@127.0.0.1:5432/{default_database}");
        Ok(Self {
            url: crate::settings::secret("DATABASE_URL", &default_url),
            max_connections: crate::settings::var("DATABASE_MAX_CONNECTIONS", 10)?,
            acquire_timeout: Duration::from_millis(crate::settings::var(
                "DATABASE_ACQUIRE_TIMEOUT_MS",
                5_000,
            )?),
        })
    }
}

/// A pool that connects lazily: the process starts (and reports not-ready) while the database
/// is still unreachable, instead of crash-looping.
pub fn lazy_pool(settings: &DatabaseSettings) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = settings
        .url
        .expose_secret()
        .parse()
        .context("DATABASE_URL is not a valid PostgreSQL URL")?;
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .connect_lazy_with(options))
}
