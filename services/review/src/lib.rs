//! The review service: a customer reviews an order once it is delivered (a rating from 1 to 5
//! and a text), once per order, and may edit the review for a while; the store's owner may reply.
//! It learns who ordered what from which store, whether it was delivered and who owns each store
//! only from the other services' events, and publishes reviews and store ratings on a topic of
//! its own. No other service depends on it.

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
    let edit_window = settings.edit_window;
    backbone::launch(settings.service, &MIGRATOR, move |backbone| {
        let state = http::AppState {
            pool: backbone.pool.clone(),
            edit_window,
        };
        Ok(Wiring {
            routes: http::router(state),
            consumers: vec![backbone.consumer(PgInbox::new(backbone.pool.clone(), events::Facts))],
        })
    })
    .await
}
