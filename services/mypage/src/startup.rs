//! Bringing up the consumer side of mypage, the MongoDB counterpart of `backbone::launch`:
//! topics and the live generation are prepared in the background, retried until MongoDB and
//! Kafka answer, then the projection consumer runs until shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use backbone::KafkaSettings;
use backbone::consumer::Consumer;
use rdkafka::producer::FutureProducer;
use service_runtime::ReadinessCheck;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::projection::Projection;
use crate::store::Store;

/// Prepares, then consumes until `shutdown`.
pub fn start(
    store: Store,
    kafka: KafkaSettings,
    producer: FutureProducer,
    started: Started,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut wait = Duration::from_millis(200);
        loop {
            let attempt = async {
                kafka.ensure_topics().await?;
                let generations = store.generations().await?;
                store.prepare(&generations.active).await?;
                anyhow::Ok(())
            };
            match attempt.await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), retry_in = ?wait, "not started yet")
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(Duration::from_secs(5));
        }
        let consumer = Consumer::new(Projection { store }, kafka, producer);
        match consumer.spawn(shutdown.child_token()) {
            Ok(task) => {
                started.0.store(true, Ordering::Release);
                tracing::info!("projection started");
                if let Err(e) = task.await {
                    tracing::error!(error = %e, "the projection consumer panicked");
                }
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "cannot start the projection consumer");
                shutdown.cancel();
            }
        }
    })
}

/// Readiness: MongoDB answers a ping.
pub struct MongoReadiness(pub Store);

#[async_trait]
impl ReadinessCheck for MongoReadiness {
    fn name(&self) -> &'static str {
        "mongodb"
    }

    async fn check(&self) -> anyhow::Result<()> {
        Ok(self.0.ping().await?)
    }
}

/// Readiness: the consumer is running.
#[derive(Clone, Default)]
pub struct Started(Arc<AtomicBool>);

#[async_trait]
impl ReadinessCheck for Started {
    fn name(&self) -> &'static str {
        "startup"
    }

    async fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.0.load(Ordering::Acquire), "consumer not started yet");
        Ok(())
    }
}
