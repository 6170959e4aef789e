//! Bringing up the messaging side of a PostgreSQL-backed service.
//!
//! A service must start, answer `/health/live` and report not-ready while its database or Kafka
//! is unreachable, rather than crash-loop. So everything that needs them happens here, in the
//! background, retried until it works: migrations, topic creation, then the outbox relay and
//! the consumers. Readiness includes "started" as well as the live checks.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::producer::FutureProducer;
use service_runtime::admission::{Admission, AdmissionSettings, Limiter};
use service_runtime::{Readiness, ReadinessCheck};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::consumer::{Consumer, Processor};
use crate::kafka::{KafkaReadiness, KafkaSettings};
use crate::relay::Relay;

/// A consumer waiting to be started; any [`Consumer`] is one.
pub trait ConsumerTask: Send {
    fn spawn_task(self: Box<Self>, shutdown: CancellationToken) -> anyhow::Result<JoinHandle<()>>;
}

impl<P: Processor> ConsumerTask for Consumer<P> {
    fn spawn_task(self: Box<Self>, shutdown: CancellationToken) -> anyhow::Result<JoinHandle<()>> {
        (*self).spawn(shutdown)
    }
}

/// Serializes work on one order across transactions (an event handler and an HTTP request, or
/// two handlers) for the rest of the caller's transaction: whichever comes second sees what the
/// first committed.
pub async fn lock_order(conn: &mut sqlx::PgConnection, order_id: uuid::Uuid) -> sqlx::Result<()> {
    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1::text, 0))")
        .bind(order_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Any other background task that needs the database ready (e.g. a periodic repair), started
/// with the consumers and stopped by the same token.
pub struct Task<F>(pub F);

impl<F> ConsumerTask for Task<F>
where
    F: FnOnce(CancellationToken) -> JoinHandle<()> + Send,
{
    fn spawn_task(self: Box<Self>, shutdown: CancellationToken) -> anyhow::Result<JoinHandle<()>> {
        Ok((self.0)(shutdown))
    }
}

/// The database, Kafka clients and start-up state of one service.
#[derive(Clone)]
pub struct Backbone {
    pub pool: PgPool,
    pub kafka: KafkaSettings,
    pub producer: FutureProducer,
    /// Tests only: see [`Relay::freeze_after_publish`].
    pub freeze_after_publish: bool,
    started: Arc<AtomicBool>,
}

impl Backbone {
    pub fn new(pool: PgPool, kafka: KafkaSettings) -> anyhow::Result<Self> {
        let producer = kafka.producer()?;
        Ok(Self {
            pool,
            kafka,
            producer,
            freeze_after_publish: false,
            started: Arc::new(AtomicBool::new(false)),
        })
    }

    /// A consumer for `processor`, sending dead letters with this service's producer.
    pub fn consumer<P: Processor>(&self, processor: P) -> Box<dyn ConsumerTask> {
        Box::new(Consumer::new(
            processor,
            self.kafka.clone(),
            self.producer.clone(),
        ))
    }

    /// Readiness: database, Kafka, and start-up finished; 503 while draining.
    pub fn readiness(&self, shutdown: CancellationToken) -> Readiness {
        Readiness::new(shutdown)
            .with(self.pool.clone())
            .with(KafkaReadiness::new(self.producer.clone()))
            .with(Started(self.started.clone()))
    }

    /// Migrates, creates topics, then runs the relay and `consumers` until `shutdown`. The
    /// returned task ends when all of them have stopped cleanly.
    pub fn start(
        &self,
        migrator: &'static Migrator,
        consumers: Vec<Box<dyn ConsumerTask>>,
        shutdown: CancellationToken,
    ) -> JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            if !this.prepare(migrator, &shutdown).await {
                return;
            }
            let mut relay = Relay::new(
                this.pool.clone(),
                this.producer.clone(),
                this.kafka.topics.clone(),
            );
            relay.freeze_after_publish = this.freeze_after_publish;
            let mut tasks = vec![
                relay.spawn(shutdown.child_token()),
                crate::parked::watch(
                    this.pool.clone(),
                    Duration::from_secs(10),
                    shutdown.child_token(),
                ),
            ];
            let mut all_started = true;
            for consumer in consumers {
                match consumer.spawn_task(shutdown.child_token()) {
                    Ok(task) => tasks.push(task),
                    Err(e) => {
                        // Stop the whole process: a service missing a consumer must not look healthy.
                        tracing::error!(error = %format!("{e:#}"), "cannot start a consumer; shutting down");
                        all_started = false;
                        shutdown.cancel();
                    }
                }
            }
            if all_started {
                this.started.store(true, Ordering::Release);
                tracing::info!("messaging started");
            }
            for task in tasks {
                if let Err(e) = task.await {
                    tracing::error!(error = %e, "a background task panicked");
                }
            }
        })
    }

    /// Retries migrations and topic creation until they succeed; `false` if shut down first.
    async fn prepare(&self, migrator: &'static Migrator, shutdown: &CancellationToken) -> bool {
        let mut wait = Duration::from_millis(200);
        loop {
            let attempt = async {
                crate::schema::migrate(&self.pool, migrator).await?;
                self.kafka.ensure_topics().await
            };
            match attempt.await {
                Ok(()) => return true,
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), retry_in = ?wait, "not started yet")
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return false,
                () = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(Duration::from_secs(5));
        }
    }
}

struct Started(Arc<AtomicBool>);

#[async_trait]
impl ReadinessCheck for Started {
    fn name(&self) -> &'static str {
        "startup"
    }

    async fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.0.load(Ordering::Acquire),
            "migrations and topics not ready yet"
        );
        Ok(())
    }
}

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
            request_timeout: Duration::from_millis(service_runtime::settings::var(
                "REQUEST_TIMEOUT_MS",
                10_000,
            )?),
            admission: AdmissionSettings::from_env(admission)?,
            freeze_after_publish: service_runtime::settings::var(
                "OUTBOX_FAULT_FREEZE_AFTER_PUBLISH",
                false,
            )?,
        })
    }
}

/// What a service adds to the shared machinery: its routes and its consumers.
pub struct Wiring {
    pub routes: axum::Router,
    pub consumers: Vec<Box<dyn ConsumerTask>>,
}

/// Builds a PostgreSQL-backed service: pool, Kafka clients, background start-up (migrations,
/// topics, relay, consumers), the shared HTTP stack around `wire`'s routes and the parked-row
/// admin routes (behind admission control), bound and ready to run.
pub async fn launch(
    settings: ServiceSettings,
    migrator: &'static Migrator,
    wire: impl FnOnce(&Backbone) -> anyhow::Result<Wiring>,
) -> anyhow::Result<service_runtime::Application> {
    let pool = service_runtime::db::lazy_pool(&settings.database)?;
    let mut backbone = Backbone::new(pool, settings.kafka.clone())?;
    backbone.freeze_after_publish = settings.freeze_after_publish;
    let shutdown = CancellationToken::new();
    let Wiring { routes, consumers } = wire(&backbone)?;
    let routes = routes.merge(crate::parked::http::router(backbone.pool.clone()));
    let background = backbone.start(migrator, consumers, shutdown.clone());
    // A request without a deadline of its caller's gets one no later than a wait for a pooled
    // connection could last: it is cut off with a 503 before that wait could fail it with a 500.
    let admission = Admission::new(
        Limiter::new("http", settings.admission.clone()),
        settings
            .request_timeout
            .min(settings.database.acquire_timeout),
    );
    let router = service_runtime::http::app(
        service_runtime::http::admitted(routes, admission),
        backbone.readiness(shutdown.clone()),
        settings.request_timeout,
    );
    service_runtime::Application::bind(&settings.http, router, shutdown, vec![background]).await
}
