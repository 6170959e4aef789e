//! Sends notifications that are due (new ones, and failed ones whose backoff has passed)
//! through the channel and records the outcome. It runs beside the consumer, so a failing
//! channel delays messages but never blocks the handling of events.
//!
//! Rows are claimed with `for update skip locked`, so dispatchers of several replicas never send
//! the same notification at once. The consumer's commits of new rows wake it (in-process, see
//! `backbone::outbox::commits`: a database NOTIFY would serialize those commits); a short poll
//! covers rows written by other replicas and due retries.

use std::sync::Arc;
use std::time::Duration;

use backbone::outbox;
use backbone::service::ConsumerTask;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::channel::Channel;
use crate::db;
use crate::domain::Notification;
use crate::settings::RetrySettings;

const BATCH: i64 = 32;
const POLL: Duration = Duration::from_millis(250);

pub struct Dispatcher {
    pool: PgPool,
    channel: Arc<dyn Channel>,
    retry: RetrySettings,
}

impl Dispatcher {
    pub fn new(pool: PgPool, channel: Arc<dyn Channel>, retry: RetrySettings) -> Self {
        Self {
            pool,
            channel,
            retry,
        }
    }

    async fn run(self, shutdown: CancellationToken) {
        let mut commits = outbox::commits();
        loop {
            let drained = loop {
                match self.dispatch_batch().await {
                    Ok(n) if n as i64 == BATCH && !shutdown.is_cancelled() => continue,
                    Ok(_) => break true,
                    Err(e) => {
                        tracing::warn!(error = %e, "notification dispatch failed; retrying");
                        break false;
                    }
                }
            };
            let wait = if drained { POLL } else { POLL * 8 };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(wait) => {}
                _ = commits.changed() => {}
            }
        }
        tracing::info!("notification dispatcher stopped");
    }

    /// Sends one batch of due notifications; how many it tried.
    async fn dispatch_batch(&self) -> sqlx::Result<usize> {
        let mut tx = self.pool.begin().await?;
        let due = db::lock_due(&mut tx, self.retry.max_attempts, BATCH).await?;
        let results = futures::future::join_all(due.iter().map(|n| self.channel.send(n))).await;
        for (notification, result) in due.iter().zip(results) {
            match result {
                Ok(()) => db::mark_sent(&mut tx, notification.id).await?,
                Err(e) => self.record_failure(&mut tx, notification, &e.0).await?,
            }
        }
        tx.commit().await?;
        Ok(due.len())
    }

    async fn record_failure(
        &self,
        tx: &mut sqlx::PgConnection,
        notification: &Notification,
        error: &str,
    ) -> sqlx::Result<()> {
        let attempts = notification.attempts + 1;
        let retry_in = self.retry.backoff(attempts);
        db::mark_failed(tx, notification.id, error, retry_in).await?;
        if attempts >= self.retry.max_attempts {
            tracing::error!(notification.id = %notification.id, order.id = %notification.order_id,
                attempts, error, "notification failed for good");
        } else {
            tracing::warn!(notification.id = %notification.id, order.id = %notification.order_id,
                attempts, error, retry_in = ?retry_in, "notification failed; will retry");
        }
        Ok(())
    }
}

impl ConsumerTask for Dispatcher {
    fn spawn_task(self: Box<Self>, shutdown: CancellationToken) -> anyhow::Result<JoinHandle<()>> {
        tracing::info!(
            channel = self.channel.name(),
            "notification dispatcher started"
        );
        Ok(tokio::spawn(self.run(shutdown)))
    }
}
