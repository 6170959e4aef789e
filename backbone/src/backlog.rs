//! The outbox's backlog as gauges, labelled with the service: `outbox_pending` (rows written and
//! not yet published), `outbox_oldest_pending_age_seconds` (how long the oldest of them has
//! waited: a relay that stopped publishing shows here first, while the count may stay small)
//! and `outbox_parked` (rows the relay gave up on; see [`crate::parked`]).
//!
//! Read from the database, not counted by the relay: rows are written, published, parked,
//! retried and dropped by any replica and by the `outbox` command, and only the table knows the
//! sum. Every replica of a service reports the same figures: aggregate with `max by (service)`.

use std::time::Duration;

use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// One reading of a service's outbox.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub pending: i64,
    /// Seconds since the oldest pending row was written; 0 with none pending.
    pub oldest_pending_age: f64,
    pub parked: i64,
}

/// Reads the outbox; both queries use a partial index, whatever the count of published rows
/// kept for inspection.
pub async fn read(pool: &PgPool) -> sqlx::Result<Reading> {
    let (pending, oldest_pending_age): (i64, f64) = sqlx::query_as(
        "select count(*),
                coalesce(extract(epoch from now() - min(created_at)), 0)::float8
         from outbox where published_at is null and parked_at is null",
    )
    .fetch_one(pool)
    .await?;
    Ok(Reading {
        pending,
        oldest_pending_age: oldest_pending_age.max(0.0),
        parked: parked(pool).await?,
    })
}

/// How many rows are parked now (an index holds them apart from the published ones).
async fn parked(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from outbox where parked_at is not null")
        .fetch_one(pool)
        .await
}

/// A service's outbox gauges.
#[derive(Clone)]
pub struct Backlog {
    pub pool: PgPool,
    /// The `service` label.
    pub service: String,
}

impl Backlog {
    pub fn new(pool: PgPool, service: &str) -> Self {
        Self {
            pool,
            service: service.to_owned(),
        }
    }

    /// Reads the outbox and sets the gauges.
    pub async fn refresh(&self) -> sqlx::Result<Reading> {
        let reading = read(&self.pool).await?;
        let service = self.service.clone();
        #[allow(clippy::cast_precision_loss)]
        {
            metrics::gauge!("outbox_pending", "service" => service.clone())
                .set(reading.pending as f64);
            metrics::gauge!("outbox_parked", "service" => service.clone())
                .set(reading.parked as f64);
        }
        metrics::gauge!("outbox_oldest_pending_age_seconds", "service" => service)
            .set(reading.oldest_pending_age);
        Ok(reading)
    }

    /// Keeps the gauges current every `every` until `shutdown`.
    pub fn watch(self, every: Duration, shutdown: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                if let Err(e) = self.refresh().await {
                    tracing::debug!(error = %e, "cannot read the outbox's backlog");
                }
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(every) => {}
                }
            }
        })
    }
}
