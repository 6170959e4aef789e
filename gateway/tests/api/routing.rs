use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{
    Bearer, assert_problem, pay, settings, spawn_gateway, spawn_with_payment, token,
};

#[tokio::test]
async fn payments_are_routed_to_the_payment_service() {
    let (gateway, payment) = spawn_with_payment(settings()).await;
    let order_id = Uuid::new_v4();
    let paid = pay(&payment, order_id, "alice").await;

    let response = gateway
        .get(&format!("/payments?orderId={order_id}"))
        .bearer(&token("alice", "customer"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let payments: Vec<Value> = response.json().await.unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["id"], paid["id"]);
    gateway.stop().await;
    payment.finish().await;
}

#[tokio::test]
async fn service_problems_pass_through_unchanged() {
    let (gateway, payment) = spawn_with_payment(settings()).await;

    let response = gateway
        .get("/payments?orderId=not-a-uuid")
        .bearer(&token("alice", "customer"))
        .send()
        .await
        .unwrap();

    let problem = assert_problem(response, StatusCode::BAD_REQUEST, "malformed_query").await;
    assert_eq!(problem["type"], "about:blank");
    gateway.stop().await;
    payment.finish().await;
}

#[tokio::test]
async fn the_request_id_of_the_caller_is_kept_and_returned() {
    let (gateway, payment) = spawn_with_payment(settings()).await;

    let response = gateway
        .get(&format!("/payments?orderId={}", Uuid::new_v4()))
        .bearer(&token("alice", "customer"))
        .header("x-request-id", "req-42")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-request-id"], "req-42");
    gateway.stop().await;
    payment.finish().await;
}

#[tokio::test]
async fn admins_reach_the_payment_admin_endpoints_under_admin_payment() {
    let (gateway, payment) = spawn_with_payment(settings()).await;

    let response = gateway
        .get("/admin/payment/faults")
        .bearer(&token("ops", "admin"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let faults: Value = response.json().await.unwrap();
    assert_eq!(faults["failureRate"], 0.0);
    gateway.stop().await;
    payment.finish().await;
}

#[tokio::test]
async fn routes_whose_service_is_down_are_503_upstream_unavailable_from_the_proxy() {
    let gateway = spawn_gateway(settings()).await;
    let admin = token("ops", "admin");

    for path in [
        "/orders",
        "/orders/1",
        "/stores",
        "/stores/1/menu",
        "/store-orders?storeId=1",
        "/deliveries?orderId=1",
        "/notifications",
        "/mypage/orders",
        "/mypage/popular-menus?limit=10",
        "/payments?orderId=1",
    ] {
        let response = gateway.get(path).bearer(&admin).send().await.unwrap();
        let problem = assert_problem(
            response,
            StatusCode::SERVICE_UNAVAILABLE,
            "upstream_unavailable",
        )
        .await;
        assert!(
            problem["detail"].as_str().unwrap().contains("service"),
            "{path}"
        );
    }
    gateway.stop().await;
}

#[tokio::test]
async fn unknown_routes_are_404_problems() {
    let gateway = spawn_gateway(settings()).await;
    let admin = token("ops", "admin");

    // `/` is the console's (tests/api/console.rs).
    for path in ["/nope", "/ordersx", "/admin/nonsense/faults", "/auth/other"] {
        let response = gateway.get(path).bearer(&admin).send().await.unwrap();
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    gateway.stop().await;
}

#[tokio::test]
async fn the_gateway_is_live_ready_and_measured_while_every_service_is_down() {
    let gateway = spawn_gateway(settings()).await;

    for path in ["/health/live", "/health/ready", "/metrics"] {
        let response = gateway.get(path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    gateway.stop().await;
}

#[tokio::test]
async fn cors_is_closed_by_default_and_open_to_configured_origins() {
    let closed = spawn_gateway(settings()).await;
    let mut open_settings = settings();
    open_settings.cors_origins = vec!["https://app.example".to_owned()];
    let open = spawn_gateway(open_settings).await;
    let preflight = |app: &test_stack::RunningApp, origin: &str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/orders"))
            .header("origin", origin.to_owned())
            .header("access-control-request-method", "POST")
            .send()
    };

    let refused = preflight(&closed, "https://app.example").await.unwrap();
    let allowed = preflight(&open, "https://app.example").await.unwrap();
    let other = preflight(&open, "https://evil.example").await.unwrap();

    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert!(other.headers().get("access-control-allow-origin").is_none());
    closed.stop().await;
    open.stop().await;
}

#[tokio::test]
async fn a_method_no_service_answers_is_405_at_the_gateway() {
    let gateway = spawn_gateway(settings()).await;

    let response = gateway
        .client
        .request(
            reqwest::Method::from_bytes(b"QUERY").unwrap(),
            gateway.url("/admin/payment/outbox/drop"),
        )
        .bearer(&token("ops", "admin"))
        .json(&serde_json::json!({ "all": true }))
        .send()
        .await
        .unwrap();

    assert!(response.headers().contains_key("allow"));
    assert_problem(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    gateway.stop().await;
}
