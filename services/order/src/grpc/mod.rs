//! The order service's second inbound adapter: gRPC (tonic), beside the REST routes of
//! [`crate::http`]. It calls the same use cases ([`crate::use_cases::Orders`]) with the same
//! validation, answers with the same problems ([`crate::problems`]) as status codes, and knows
//! its caller the same way: the gateway checks the token and passes `x-user-id` and
//! `x-user-role` on, here as metadata. The domain does not know this module exists.
//!
//! Served on a port of its own (`GRPC_PORT`) with `grpc.health.v1` and server reflection (v1
//! and v1alpha, for grpcurl and its kin). Health, as `/health/*`: the server as a whole (`""`)
//! is `SERVING` while it runs (liveness, what the Kubernetes startup probe asks), and
//! `fooddelivery.order.v1.OrderService` follows `/health/ready` (readiness).

mod convert;
mod service;
mod watch;

use std::time::Duration;

use anyhow::Context;
use service_runtime::Readiness;
use service_runtime::settings::HttpSettings;
use service_runtime::trace;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::server::NamedService;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::use_cases::Orders;
use proto::order_service_server::OrderServiceServer;
pub use service::OrderRpc;

/// The code generated from `proto/fooddelivery/order/v1/order.proto` by `build.rs`.
pub mod proto {
    #![allow(clippy::all, clippy::pedantic, missing_docs)]
    tonic::include_proto!("fooddelivery.order.v1");

    /// The protos' descriptors, for reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("order_descriptor");
}

#[derive(Debug, Clone)]
pub struct GrpcSettings {
    /// Where the gRPC server listens (the HTTP server's host, its own port).
    pub http: HttpSettings,
    /// `WatchOrder` streams open at once, at most.
    pub max_watches: usize,
    /// How often a `WatchOrder` stream reads its order.
    pub watch_poll: Duration,
}

impl GrpcSettings {
    /// On a free loopback port, watching closely (tests).
    pub fn loopback() -> Self {
        Self {
            http: HttpSettings::loopback(),
            max_watches: 256,
            watch_poll: Duration::from_millis(100),
        }
    }
}

/// What the gRPC server needs of the rest of the service.
pub struct Grpc {
    pub orders: Orders,
    /// Seconds a client should wait when payment is unavailable (as REST's `Retry-After`).
    pub retry_after: u64,
    /// The service's own readiness, which the health service reports.
    pub readiness: Readiness,
    /// A request's time limit when the client set no `grpc-timeout` (as REST's).
    pub request_timeout: Duration,
}

/// Binds the gRPC port: `(listener, port)`.
pub async fn bind(settings: &GrpcSettings) -> anyhow::Result<(TcpListener, u16)> {
    let listener = service_runtime::server::listen(&settings.http)
        .await
        .with_context(|| format!("cannot listen for gRPC on {}", settings.http.address()))?;
    let port = listener.local_addr()?.port();
    Ok((listener, port))
}

/// Serves the order service, health and reflection on `listener` until `shutdown`; open
/// `WatchOrder` streams end then too, so that shutting down is not held up by them.
pub async fn serve(
    listener: TcpListener,
    grpc: Grpc,
    settings: GrpcSettings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let orders = OrderRpc::new(&grpc, &settings, shutdown.clone());
    reporter
        .set_service_status(SERVICE, ServingStatus::NotServing)
        .await;
    tokio::spawn(report_health(reporter, grpc.readiness, shutdown.clone()));
    tonic::transport::Server::builder()
        .timeout(grpc.request_timeout)
        // Each call's span continues the caller's trace (the gateway's `traceparent`).
        .trace_fn(|request| trace::grpc_span(request.uri().path(), request.headers()))
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(OrderServiceServer::new(orders))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown.cancelled_owned())
        .await
        .context("gRPC server failed")
}

/// How often the health service looks at the service's readiness.
const HEALTH_INTERVAL: Duration = Duration::from_secs(1);

/// The order service's name in `grpc.health.v1`.
const SERVICE: &str = <OrderServiceServer<OrderRpc> as NamedService>::NAME;

/// Keeps the order service's `grpc.health.v1` status in step with `/health/ready` (database,
/// Kafka, start-up done; not draining); once shutting down, the server's (`""`) too.
async fn report_health(
    reporter: HealthReporter,
    readiness: Readiness,
    shutdown: CancellationToken,
) {
    let mut reported = ServingStatus::NotServing;
    loop {
        let status = match readiness.report().await {
            (true, _) => ServingStatus::Serving,
            (false, _) => ServingStatus::NotServing,
        };
        if status != reported {
            reporter.set_service_status(SERVICE, status).await;
            reported = status;
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(HEALTH_INTERVAL) => {}
        }
    }
    reporter
        .set_service_status(SERVICE, ServingStatus::NotServing)
        .await;
    reporter
        .set_service_status("", ServingStatus::NotServing)
        .await;
}
