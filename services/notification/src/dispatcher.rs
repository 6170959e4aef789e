//! Sends notifications that are due (new ones, and failed ones whose backoff has passed)
//! through the channel and records the outcome. It is a background task beside the consumer,
//! so a failing channel delays messages but never blocks the handling of events.
//!
//! Rows are claimed with `for update skip locked`, so dispatchers of several replicas never send
//! the same notification at once. The consumer's commits of new rows wake it (in-process, see
//! `backbone::outbox::commits`: a database NOTIFY would serialize those commits); a short poll
//! covers rows written by other replicas and due retries.

use std::sync::Arc;
use std::time::Duration;

use backbone::BackgroundTask;
use backbone::outbox;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::channel::Channel;
use crate::settings::RetrySettings;
use crate::use_cases;

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
                match use_cases::dispatch_due(&self.pool, &*self.channel, &self.retry, BATCH).await
                {
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
}

impl BackgroundTask for Dispatcher {
    fn spawn_task(self: Box<Self>, shutdown: CancellationToken) -> anyhow::Result<JoinHandle<()>> {
        tracing::info!(
            channel = self.channel.name(),
            "notification dispatcher started"
        );
        Ok(tokio::spawn(self.run(shutdown)))
    }
}
