//! The payment service: charges an order once, refunds it once.
//!
//! `POST /payments` is called synchronously by the order service with the order id as the
//! idempotency key; `OrderCanceled` events refund. Fault injection (delay, failures) exists to
//! demonstrate the order service's circuit breaker.

pub mod db;
pub mod domain;
pub mod events;
pub mod faults;
pub mod http;
pub mod settings;
pub mod use_cases;

pub use settings::Settings;

use backbone::{PgInbox, Wiring};
use service_runtime::Application;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// Builds the service, bound and ready to run.
pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    let faults = faults::Faults::new(settings.faults);
    backbone::launch(settings.service, &MIGRATOR, |backbone| {
        let payments = use_cases::Payments::new(
            backbone.pool.clone(),
            settings.decline_above,
            faults.clone(),
        );
        let state = http::AppState { payments, faults };
        Ok(Wiring {
            routes: http::router(state),
            consumers: vec![
                backbone.consumer(PgInbox::new(backbone.pool.clone(), events::Settlements)),
            ],
        })
    })
    .await
}
