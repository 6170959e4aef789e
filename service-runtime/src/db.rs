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
        let default_url = format!(
            "postgres://fooddelivery:fooddelivery@127.0.0.1:{}/{default_database}",
            crate::settings::ports::POSTGRES
        );
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

/// Whether `error` says "the database cannot do it right now" rather than "this is wrong":
/// unreachable or lost connections, an exhausted pool, and the SQLSTATEs of
/// [`is_transient_sqlstate`]. A request failing so is a 503 worth retrying; an event, delayed,
/// never dead-lettered.
pub fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| is_transient_sqlstate(&code)),
        _ => false,
    }
}

/// SQLSTATEs that say "the database cannot do it right now": lost connections (class 08), too
/// many connections / out of resources (53), the server shutting down or starting up (57),
/// serialization failures and deadlocks (40001, 40P01). A database restart or failover must
/// delay work, never fail it for good.
pub fn is_transient_sqlstate(code: &str) -> bool {
    matches!(code.get(..2), Some("08" | "53" | "57")) || matches!(code, "40001" | "40P01")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_connections_restarts_and_conflicts_are_transient_and_bad_data_is_not() {
        for code in [
            "08006", "08001", "53300", "57P01", "57P03", "40001", "40P01",
        ] {
            assert!(is_transient_sqlstate(code), "{code}");
        }
        for code in ["23505", "23503", "22P02", "42P01", ""] {
            assert!(!is_transient_sqlstate(code), "{code}");
        }
        assert!(is_transient(&sqlx::Error::PoolTimedOut));
        assert!(is_transient(&sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused
        ))));
        assert!(!is_transient(&sqlx::Error::RowNotFound));
    }
}
