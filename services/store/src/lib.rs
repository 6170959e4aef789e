//! The store service: owners manage their stores and menus, and work through the orders placed
//! with them (accept or reject, cook, hand over to delivery).
//!
//! Catalog changes are published so that the order service keeps a menu replica and can take
//! orders while this service is down. `OrderPlaced` creates a store order, `OrderCanceled`
//! cancels it; owner actions publish the store's side of the order saga. A new store is
//! announced with its owner (`StoreRegistered`), so that notification can address the owner.
//! Each store shows its rating, as the review service publishes it (`StoreRatingChanged`).

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
                backbone.consumer(PgInbox::new(backbone.pool.clone(), events::StoreOrders)),
                backbone.consumer(PgInbox::new(backbone.pool.clone(), events::Ratings)),
            ],
        })
    })
    .await
}
