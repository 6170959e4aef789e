//! Bringing a service up: what every service does the same way around its own routes and
//! consumers, so that each service's `build` is wiring only.
//!
//! [`launch`] builds a PostgreSQL-backed service: its pool and Kafka clients ([`Backbone`]), its
//! [`Startup`] in the background (migrations, topics, then the outbox relay and its
//! [`BackgroundTask`]s), and its HTTP [`Front`]. A service that keeps its data elsewhere (mypage,
//! on MongoDB) puts the same [`Startup`] and [`Front`] together around its own store.

use std::time::Duration;

use rdkafka::producer::FutureProducer;
use service_runtime::admission::{Admission, AdmissionSettings, Limiter};
use service_runtime::settings::HttpSettings;
use service_runtime::{Application, Readiness};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::backlog::Backlog;
use crate::consumer::{Consumer, Processor};
use crate::kafka::{KafkaReadiness, KafkaSettings};
use crate::relay::Relay;
use crate::settings::ServiceSettings;
use crate::startup::Startup;
use crate::task::{BackgroundTask, Task};

/// The database, Kafka clients and start-up state of one PostgreSQL-backed service.
#[derive(Clone)]
pub struct Backbone {
    pub pool: PgPool,
    pub kafka: KafkaSettings,
    pub producer: FutureProducer,
    /// Tests only: see [`Relay::freeze_after_publish`].
    pub freeze_after_publish: bool,
    startup: Startup,
}

impl Backbone {
    pub fn new(pool: PgPool, kafka: KafkaSettings) -> anyhow::Result<Self> {
        let producer = kafka.producer()?;
        Ok(Self {
            pool,
            kafka,
            producer,
            freeze_after_publish: false,
            startup: Startup::new("migrations and topics"),
        })
    }

    /// A consumer for `processor`, sending dead letters with this service's producer.
    pub fn consumer<P: Processor>(&self, processor: P) -> Box<dyn BackgroundTask> {
        Box::new(Consumer::new(
            processor,
            self.kafka.clone(),
            self.producer.clone(),
        ))
    }

    /// The service's outbox gauges.
    pub fn backlog(&self) -> Backlog {
        Backlog::new(self.pool.clone(), &self.kafka.client_id)
    }

    /// Readiness: database, Kafka, and start-up finished; 503 while draining.
    pub fn readiness(&self, shutdown: CancellationToken) -> Readiness {
        Readiness::new(shutdown)
            .with(self.pool.clone())
            .with(KafkaReadiness::new(self.producer.clone()))
            .with(self.startup.clone())
    }

    /// Migrates, creates topics, then runs the relay, the outbox's gauges and `tasks` until
    /// `shutdown`. The returned task ends when all of them have stopped cleanly.
    pub fn start(
        &self,
        migrator: &'static Migrator,
        tasks: Vec<Box<dyn BackgroundTask>>,
        shutdown: CancellationToken,
    ) -> JoinHandle<()> {
        let mut relay = Relay::new(
            self.pool.clone(),
            self.producer.clone(),
            self.kafka.topics.clone(),
        );
        relay.freeze_after_publish = self.freeze_after_publish;
        let gauges = {
            let (backlog, every) = (self.backlog(), self.kafka.metrics_interval);
            Task(move |shutdown| backlog.watch(every, shutdown))
        };
        let mut all: Vec<Box<dyn BackgroundTask>> = vec![
            Box::new(Task(move |shutdown| relay.spawn(shutdown))),
            Box::new(gauges),
        ];
        all.extend(tasks);
        let (pool, kafka) = (self.pool.clone(), self.kafka.clone());
        let prepare = move || {
            let (pool, kafka) = (pool.clone(), kafka.clone());
            async move {
                crate::schema::migrate(&pool, migrator).await?;
                kafka.ensure_topics().await
            }
        };
        self.startup.spawn(prepare, all, shutdown)
    }
}

/// What a service adds to the shared machinery: its routes and its background tasks
/// (consumers first of all).
pub struct Wiring {
    pub routes: axum::Router,
    pub consumers: Vec<Box<dyn BackgroundTask>>,
}

/// How a service meets its callers, whatever it stores: its routes behind admission control,
/// inside the HTTP stack every service shares (operational endpoints, timeouts, traces).
#[derive(Debug, Clone)]
pub struct Front {
    pub http: HttpSettings,
    pub admission: AdmissionSettings,
    /// A request taking longer is answered 503.
    pub request_timeout: Duration,
    /// The deadline of a request whose caller sent none.
    pub default_deadline: Duration,
}

impl Front {
    /// Binds the listener: the service, ready to run, stopped by `shutdown` together with
    /// `background`.
    pub async fn bind(
        self,
        routes: axum::Router,
        readiness: Readiness,
        shutdown: CancellationToken,
        background: Vec<JoinHandle<()>>,
    ) -> anyhow::Result<Application> {
        let admission = Admission::new(Limiter::new("http", self.admission), self.default_deadline);
        let router = service_runtime::http::app(
            service_runtime::http::admitted(routes, admission),
            readiness,
            self.request_timeout,
        );
        Application::bind(&self.http, router, shutdown, background).await
    }
}

/// Builds a PostgreSQL-backed service: pool, Kafka clients, background start-up (migrations,
/// topics, relay, consumers), the shared HTTP stack around `wire`'s routes and the parked-row
/// admin routes (behind admission control), bound and ready to run.
pub async fn launch(
    settings: ServiceSettings,
    migrator: &'static Migrator,
    wire: impl FnOnce(&Backbone) -> anyhow::Result<Wiring>,
) -> anyhow::Result<Application> {
    let pool = service_runtime::db::lazy_pool(&settings.database)?;
    let mut backbone = Backbone::new(pool, settings.kafka.clone())?;
    backbone.freeze_after_publish = settings.freeze_after_publish;
    let shutdown = CancellationToken::new();
    let Wiring { routes, consumers } = wire(&backbone)?;
    let routes = routes.merge(crate::parked::http::router(backbone.backlog()));
    let background = backbone.start(migrator, consumers, shutdown.clone());
    let front = Front {
        http: settings.http,
        admission: settings.admission,
        request_timeout: settings.request_timeout,
        // No later than a wait for a pooled connection could last: such a request is cut off
        // with a 503 before that wait could fail it with a 500.
        default_deadline: settings
            .request_timeout
            .min(settings.database.acquire_timeout),
    };
    front
        .bind(
            routes,
            backbone.readiness(shutdown.clone()),
            shutdown,
            vec![background],
        )
        .await
}
