//! The order service: an order exists only if it is paid.
//!
//! `POST /orders` prices the request from a menu replica fed by the store's catalog events,
//! stores it PaymentPending, charges it synchronously through a bulkhead, a circuit breaker and
//! a timeout, and records the answer with its event in one transaction. Afterwards the order
//! follows the store's and the delivery's events, and a cancellation (by the customer, a
//! rejection or an accident) is announced so the payment is refunded.

pub mod db;
pub mod domain;
pub mod events;
pub mod grpc;
pub mod http;
pub mod payments;
pub mod problems;
pub mod repair;
pub mod settings;
pub mod use_cases;

pub use settings::Settings;

/// The `source` of every event this service publishes.
pub const SOURCE: &str = "order";

use std::sync::Arc;

use anyhow::Context;
use backbone::{PgInbox, Task, Wiring};
use service_runtime::Application;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// Builds the service, bound and ready to run: REST on `PORT`, gRPC on `GRPC_PORT`
/// ([`Application::port_of`] `"grpc"`).
pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    let payments = payments::Resilient::new(
        payments::HttpPayments::new(&settings.payment_url)?,
        settings.breaker,
    );
    let retry_after = settings.breaker.open_for.as_secs().max(1);
    let repair_settings = settings.repair;
    let (longest_payment_call, freeze_after_payment) = (
        settings.breaker.longest_call(),
        settings.freeze_after_payment,
    );
    // Past capacity, new orders are refused before a customer's cancellation or a read of an
    // order that exists: those keep a reserved share of the admission limit.
    let mut service = settings.service;
    service.admission = service
        .admission
        .with_new_work(axum::http::Method::POST, "/orders");
    let request_timeout = service.request_timeout;
    // The gRPC adapter calls the same use cases as the routes, so it is handed what they are.
    let mut for_grpc = None;
    let app = backbone::launch(service, &MIGRATOR, |backbone| {
        let attempts = use_cases::Attempts {
            freeze_after_payment,
            ..use_cases::Attempts::new(longest_payment_call, repair_settings.margin)
        };
        let orders = use_cases::Orders::new(backbone.pool.clone(), Arc::new(payments), attempts);
        for_grpc = Some((orders.clone(), backbone.clone()));
        let repair = {
            let orders = orders.clone();
            Task(move |shutdown| tokio::spawn(repair::run(orders, repair_settings, shutdown)))
        };
        Ok(Wiring {
            routes: http::router(http::AppState {
                orders,
                retry_after,
            }),
            consumers: vec![
                backbone.consumer(PgInbox::new(backbone.pool.clone(), events::MenuReplica)),
                backbone.consumer(PgInbox::new(backbone.pool.clone(), events::OrderProgress)),
                Box::new(repair),
            ],
        })
    })
    .await?;
    let (orders, backbone) = for_grpc.context("the service was built without its use cases")?;
    let (listener, grpc_port) = grpc::bind(&settings.grpc).await?;
    let shutdown = app.shutdown_token();
    let grpc = grpc::Grpc {
        orders,
        retry_after,
        readiness: backbone.readiness(shutdown.clone()),
        request_timeout,
    };
    let serve = grpc::serve(listener, grpc, settings.grpc, shutdown);
    Ok(app.with_server("grpc", grpc_port, serve))
}
