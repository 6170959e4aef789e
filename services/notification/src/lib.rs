//! The notification service: tells a customer about every status change of their order, and a
//! store's owner about new orders, cancellations and accidents of their store's orders.
//!
//! Customer- and owner-facing events become notification rows (one per event and recipient, in
//! the inbox transaction); a dispatcher, a background task beside the consumer, sends them
//! through the configured channel and retries failures with backoff, so a slow or broken channel
//! never holds up the consumer.

pub mod channel;
pub mod db;
pub mod dispatcher;
pub mod domain;
pub mod events;
pub mod http;
pub mod settings;
pub mod use_cases;

pub use settings::Settings;

use std::sync::Arc;

use backbone::{PgInbox, Wiring};
use service_runtime::Application;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// Builds the service, bound and ready to run.
pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    let channel: Arc<dyn channel::Channel> = Arc::from(channel::from_settings(&settings.channel)?);
    backbone::launch(settings.service, &MIGRATOR, |backbone| {
        let state = http::AppState {
            pool: backbone.pool.clone(),
        };
        let notifier = events::Notifier {
            locale: settings.locale,
            channel: channel.name(),
        };
        let dispatcher =
            dispatcher::Dispatcher::new(backbone.pool.clone(), channel, settings.retry);
        Ok(Wiring {
            routes: http::router(state),
            consumers: vec![
                backbone.consumer(PgInbox::new(backbone.pool.clone(), notifier)),
                Box::new(dispatcher),
            ],
        })
    })
    .await
}
