//! The mypage service: the CQRS read model. Every order-related event is folded into one
//! document per order in MongoDB, plus order counts per menu item; it never calls another
//! service. The view can be rebuilt from Kafka's history and swapped in without downtime.

pub mod domain;
pub mod http;
pub mod menus;
pub mod projection;
pub mod rebuild;
pub mod recent;
pub mod settings;
pub mod startup;
pub mod store;
pub mod views;

pub use settings::Settings;

use secrecy::ExposeSecret;
use service_runtime::Application;
use service_runtime::admission::{Admission, Limiter};
use tokio_util::sync::CancellationToken;

/// Builds the service, bound and ready to run. MongoDB and Kafka may still be unreachable: the
/// consumer starts in the background once they answer, and readiness says so meanwhile.
pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    let store = store::Store::connect(
        settings.mongodb_url.expose_secret(),
        &settings.mongodb_database,
    )
    .await?;
    let producer = settings.kafka.producer()?;
    let shutdown = CancellationToken::new();
    let started = startup::Started::default();
    let background = startup::start(
        store.clone(),
        settings.kafka.clone(),
        producer.clone(),
        started.clone(),
        shutdown.clone(),
    );
    let readiness = service_runtime::Readiness::new(shutdown.clone())
        .with(startup::MongoReadiness(store.clone()))
        .with(backbone::kafka::KafkaReadiness::new(producer))
        .with(started);
    let admission = Admission::new(
        Limiter::new("http", settings.admission.clone()),
        settings.request_timeout,
    );
    let router = service_runtime::http::app(
        service_runtime::http::admitted(http::router(http::AppState { store }), admission),
        readiness,
        settings.request_timeout,
    );
    Application::bind(&settings.http, router, shutdown, vec![background]).await
}
