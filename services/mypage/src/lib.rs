//! The mypage service: the CQRS read model. Every order-related event is folded into one
//! document per order in MongoDB, plus order counts per menu item; it never calls another
//! service. The view can be rebuilt from Kafka's history and swapped in without downtime.

pub mod db;
pub mod domain;
pub mod events;
pub mod http;
pub mod rebuild;
pub mod settings;
pub mod use_cases;

pub use settings::Settings;

use backbone::consumer::Consumer;
use backbone::kafka::KafkaReadiness;
use backbone::{BackgroundTask, Front, Startup};
use secrecy::ExposeSecret;
use service_runtime::{Application, Readiness};
use tokio_util::sync::CancellationToken;

/// Builds the service, bound and ready to run. MongoDB and Kafka may still be unreachable: the
/// projection starts in the background once they answer (topics created, the live generation's
/// indexes made), and readiness says so meanwhile. The start-up and the HTTP front are those of
/// every service (`backbone::launch` puts them together for PostgreSQL).
pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    let store = db::Store::connect(
        settings.mongodb_url.expose_secret(),
        &settings.mongodb_database,
    )
    .await?
    .remembering(settings.remembered);
    let producer = settings.kafka.producer()?;
    let shutdown = CancellationToken::new();
    let projection: Box<dyn BackgroundTask> = Box::new(Consumer::new(
        events::Projection {
            store: store.clone(),
        },
        settings.kafka.clone(),
        producer.clone(),
    ));
    let ratings: Box<dyn BackgroundTask> = Box::new(Consumer::new(
        events::Ratings {
            store: store.clone(),
        },
        settings.kafka.clone(),
        producer.clone(),
    ));
    let prepare = {
        let (store, kafka) = (store.clone(), settings.kafka.clone());
        move || {
            let (store, kafka) = (store.clone(), kafka.clone());
            async move {
                kafka.ensure_topics().await?;
                Ok(store.prepare_live().await?)
            }
        }
    };
    let startup = Startup::new("topics and the live generation");
    let background = startup.spawn(prepare, vec![projection, ratings], shutdown.clone());
    let readiness = Readiness::new(shutdown.clone())
        .with(store.clone())
        .with(KafkaReadiness::new(producer))
        .with(startup);
    let front = Front {
        http: settings.http,
        admission: settings.admission,
        request_timeout: settings.request_timeout,
        default_deadline: settings.request_timeout,
    };
    let routes = http::router(http::AppState { store });
    front
        .bind(routes, readiness, shutdown, vec![background])
        .await
}
