//! The PostgreSQL connection pool every relational service uses.

use std::time::Duration;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// `DATABASE_URL` and `DATABASE_MAX_CONNECTIONS` (default 10).
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub max_connections: u32,
}

impl DatabaseSettings {
    pub fn from_env(default_database: &str) -> anyhow::Result<Self> {
        let default_url =
            format!("postgres://fooddelivery:fooddelivery@127.0.0.1:5432/{default_database}");
        Ok(Self {
            url: crate::settings::secret("DATABASE_URL", &default_url),
            max_connections: crate::settings::var("DATABASE_MAX_CONNECTIONS", 10)?,
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
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options))
}
