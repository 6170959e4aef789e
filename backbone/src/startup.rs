//! Start-up in the background, whatever the service stores its data in.
//!
//! A service must start, answer `/health/live` and report not-ready while its database or Kafka
//! is unreachable, rather than crash-loop. So what needs them (migrations or collections,
//! topics) is prepared here, in the background, retried until it works; then the service's
//! [`BackgroundTask`]s are started. Readiness includes [`Startup`] as well as the live checks.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use service_runtime::ReadinessCheck;
use service_runtime::retry::Backoff;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::task::BackgroundTask;

/// How often start-up tries again while the database or Kafka cannot be reached.
const START_BACKOFF: Backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));

/// Whether start-up has finished; a readiness check (`startup`) failing until it has.
#[derive(Clone)]
pub struct Startup {
    /// What is prepared, for the readiness report (e.g. "migrations and topics").
    prepares: &'static str,
    started: Arc<AtomicBool>,
}

impl Startup {
    pub fn new(prepares: &'static str) -> Self {
        Self {
            prepares,
            started: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Runs `prepare` until it succeeds (backing off up to 5 s between attempts), then starts
    /// `tasks`, each with a child of `shutdown`. The returned task ends when all of them have
    /// stopped, or at once if shut down before `prepare` succeeded. A task that cannot start
    /// shuts the whole service down.
    pub fn spawn<F, Fut>(
        &self,
        mut prepare: F,
        tasks: Vec<Box<dyn BackgroundTask>>,
        shutdown: CancellationToken,
    ) -> JoinHandle<()>
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send,
    {
        let started = self.started.clone();
        tokio::spawn(async move {
            let mut failed = 0;
            loop {
                let Err(e) = prepare().await else { break };
                failed += 1;
                let wait = START_BACKOFF.delay(failed);
                tracing::warn!(error = %format!("{e:#}"), retry_in = ?wait, "not started yet");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                }
            }
            let mut running = Vec::with_capacity(tasks.len());
            let mut all_started = true;
            for task in tasks {
                match task.spawn_task(shutdown.child_token()) {
                    Ok(task) => running.push(task),
                    Err(e) => {
                        // Stop the whole process: a service missing a consumer must not look healthy.
                        tracing::error!(error = %format!("{e:#}"), "cannot start a consumer; shutting down");
                        all_started = false;
                        shutdown.cancel();
                    }
                }
            }
            if all_started {
                started.store(true, Ordering::Release);
                tracing::info!("messaging started");
            }
            for task in running {
                if let Err(e) = task.await {
                    tracing::error!(error = %e, "a background task panicked");
                }
            }
        })
    }
}

#[async_trait]
impl ReadinessCheck for Startup {
    fn name(&self) -> &'static str {
        "startup"
    }

    async fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.started.load(Ordering::Acquire),
            "{} not ready yet",
            self.prepares
        );
        Ok(())
    }
}
