//! The delivery service: a delivery starts by itself when the order service asks for it (the
//! food is cooked and the order can no longer be canceled), riders complete it or report an
//! accident, and a canceled order cancels its delivery, or prevents it if the cancellation
//! comes first.

pub mod db;
pub mod domain;
pub mod events;
pub mod http;
pub mod settings;
pub mod use_cases;

pub use settings::Settings;

use backbone::{PgInbox, Wiring};
use service_runtime::Application;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// Builds the service, bound and ready to run.
pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    backbone::launch(settings.service, &MIGRATOR, |backbone| {
        let state = http::AppState {
            pool: backbone.pool.clone(),
        };
        Ok(Wiring {
            routes: http::router(state),
            consumers: vec![
                backbone.consumer(PgInbox::new(backbone.pool.clone(), events::Deliveries)),
            ],
        })
    })
    .await
}
