//! gRPC on the gateway's port: the same token, rate limit and role rules as REST, then on to the
//! order service's gRPC server, played here by a gRPC health server that notes who called.

use std::sync::{Arc, Mutex};

use order_service::grpc::proto::order_service_client::OrderServiceClient;
use order_service::grpc::proto::{ListOrdersRequest, PlaceOrderRequest};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::helpers::{closed_url, settings, spawn_gateway, token};

/// The callers a stand-in order service saw: `(x-user-id, x-user-role)`.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A gRPC server with the health service only, noting the identity metadata of each call.
async fn stand_in_order_service() -> (String, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Seen::default();
    let noted = Arc::clone(&seen);
    let note = move |request: tonic::Request<()>| {
        let value = |name| {
            request
                .metadata()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        noted
            .lock()
            .unwrap()
            .push((value("x-user-id"), value("x-user-role")));
        Ok(request)
    };
    let (_, health) = tonic_health::server::health_reporter();
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(tonic::service::InterceptorLayer::new(note))
            .add_service(health)
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    (url, seen)
}

async fn gateway_channel(order_grpc_url: String) -> Channel {
    let mut settings = settings();
    settings.order_grpc_url = order_grpc_url;
    // Its task runs on when the handle is dropped, until the test ends.
    let gateway = spawn_gateway(settings).await;
    Channel::from_shared(gateway.address.clone())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

fn check() -> HealthCheckRequest {
    HealthCheckRequest {
        service: String::new(),
    }
}

#[tokio::test]
async fn a_grpc_call_with_a_token_reaches_the_order_service_as_its_caller() {
    let (url, seen) = stand_in_order_service().await;
    let mut health = HealthClient::new(gateway_channel(url).await);
    let mut forged = with_token(check(), &token("alice", "customer"));
    forged
        .metadata_mut()
        .insert("x-user-id", "mallory".parse().unwrap());

    let answer = health.check(forged).await.unwrap().into_inner();

    assert_eq!(answer.status(), ServingStatus::Serving);
    assert_eq!(
        *seen.lock().unwrap(),
        [("alice".to_owned(), "customer".to_owned())]
    );
}

#[tokio::test]
async fn a_grpc_call_without_a_valid_token_is_unauthenticated_and_goes_no_further() {
    let (url, seen) = stand_in_order_service().await;
    let mut health = HealthClient::new(gateway_channel(url).await);

    let none = health.check(check()).await.unwrap_err();
    let forged = health
        .check(with_token(check(), "not.a.token"))
        .await
        .unwrap_err();

    assert_eq!(none.code(), Code::Unauthenticated);
    assert_eq!(forged.code(), Code::Unauthenticated);
    assert_eq!(
        none.metadata()
            .get("problem-code")
            .and_then(|v| v.to_str().ok()),
        Some("unauthorized")
    );
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_rider_may_read_orders_over_grpc_but_not_place_one() {
    let (url, seen) = stand_in_order_service().await;
    let mut orders = OrderServiceClient::new(gateway_channel(url).await);
    let rider = token("ryan", "rider");

    let place = orders
        .place_order(with_token(PlaceOrderRequest::default(), &rider))
        .await
        .unwrap_err();
    // Passed on: the stand-in has no order service, so it answers UNIMPLEMENTED itself.
    let list = orders
        .list_orders(with_token(ListOrdersRequest {}, &rider))
        .await
        .unwrap_err();

    assert_eq!(place.code(), Code::PermissionDenied);
    assert_eq!(list.code(), Code::Unimplemented);
    assert_eq!(
        *seen.lock().unwrap(),
        [("ryan".to_owned(), "rider".to_owned())]
    );
}

#[tokio::test]
async fn a_grpc_call_to_an_order_service_that_is_down_is_unavailable() {
    let mut health = HealthClient::new(gateway_channel(closed_url()).await);

    let refused = health
        .check(with_token(check(), &token("alice", "customer")))
        .await
        .unwrap_err();

    assert_eq!(refused.code(), Code::Unavailable);
}

#[tokio::test]
async fn each_grpc_call_is_counted_by_method_and_status_code() {
    let (url, _) = stand_in_order_service().await;
    let mut settings = settings();
    settings.order_grpc_url = url;
    let gateway = spawn_gateway(settings).await;
    let channel = Channel::from_shared(gateway.address.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);

    health
        .check(with_token(check(), &token("alice", "customer")))
        .await
        .unwrap();
    health.check(check()).await.unwrap_err();

    let metrics = gateway
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let counted = |code: &str| {
        metrics.lines().any(|line| {
            line.starts_with("grpc_requests_total{")
                && line.contains(r#"rpc="/grpc.health.v1.Health/Check""#)
                && line.contains(&format!(r#"code="{code}""#))
        })
    };
    // OK (0), its status in the trailers; UNAUTHENTICATED (16), refused by the gateway itself.
    assert!(counted("0"), "{metrics}");
    assert!(counted("16"), "{metrics}");
    assert!(
        metrics.contains("grpc_request_duration_seconds"),
        "{metrics}"
    );
    gateway.stop().await;
}
