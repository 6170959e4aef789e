use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Bearer, assert_problem, settings, spawn_gateway, spawn_with_payment};

#[tokio::test]
async fn a_development_token_is_issued_and_accepted() {
    let (gateway, payment) = spawn_with_payment(settings()).await;

    let response = gateway
        .post("/auth/dev-token")
        .json(&json!({ "userId": "alice", "role": "customer" }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["tokenType"], "Bearer");
    assert_eq!(body["expiresIn"], 3600);
    let token = body["accessToken"].as_str().unwrap();
    let payments = gateway
        .get(&format!("/payments?orderId={}", uuid::Uuid::new_v4()))
        .bearer(token)
        .send()
        .await
        .unwrap();
    assert_eq!(payments.status(), StatusCode::OK);
    gateway.stop().await;
    payment.finish().await;
}

#[tokio::test]
async fn a_development_token_for_an_unknown_role_or_a_bad_user_id_is_422() {
    let gateway = spawn_gateway(settings()).await;

    for (body, code) in [
        (
            json!({ "userId": "alice", "role": "superuser" }),
            "invalid_role",
        ),
        (
            json!({ "userId": "", "role": "customer" }),
            "invalid_user_id",
        ),
        (
            json!({ "userId": "a".repeat(65), "role": "customer" }),
            "invalid_user_id",
        ),
        (
            json!({ "userId": "alice smith", "role": "customer" }),
            "invalid_user_id",
        ),
    ] {
        let response = gateway
            .post("/auth/dev-token")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, code).await;
    }
    let malformed = gateway
        .post("/auth/dev-token")
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_problem(malformed, StatusCode::BAD_REQUEST, "malformed_body").await;
    gateway.stop().await;
}

#[tokio::test]
async fn development_tokens_are_404_when_turned_off() {
    let mut settings = settings();
    settings.dev_tokens = false;
    let gateway = spawn_gateway(settings).await;

    let response = gateway
        .post("/auth/dev-token")
        .json(&json!({ "userId": "alice", "role": "admin" }))
        .send()
        .await
        .unwrap();

    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    gateway.stop().await;
}
