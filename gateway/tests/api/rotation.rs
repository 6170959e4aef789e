//! Rotating the signing key: the key a rotation replaced stays accepted while it is configured
//! as the previous one, and only then.

use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use test_stack::RunningApp;

use crate::helpers::{Bearer, SECRET, assert_problem, claims, settings, sign, spawn_gateway};

/// The key before the rotation; `SECRET` is the current one.
const PREVIOUS: &str = "the-key-before-the-rotation-0123456789";

fn rotating() -> gateway::Settings {
    let mut settings = settings();
    settings.jwt.previous_secret = SecretString::from(PREVIOUS);
    settings
}

/// What the gateway answers `token` with on a route whose service is down: past authentication
/// that is the closed service's 503, refused it is a 401.
async fn answer(gateway: &RunningApp, token: &str) -> reqwest::Response {
    gateway
        .get("/payments?orderId=1")
        .bearer(token)
        .send()
        .await
        .unwrap()
}

async fn assert_accepted(gateway: &RunningApp, token: &str) {
    let response = answer(gateway, token).await;
    assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "upstream_unavailable",
    )
    .await;
}

async fn assert_refused(gateway: &RunningApp, token: &str) {
    let response = answer(gateway, token).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn a_token_signed_with_the_previous_key_is_accepted_until_that_key_is_removed() {
    let old_token = sign(&claims("alice", "customer"), PREVIOUS);
    let gateway = spawn_gateway(rotating()).await;

    assert_accepted(&gateway, &old_token).await;
    assert_accepted(&gateway, &sign(&claims("alice", "customer"), SECRET)).await;
    gateway.stop().await;

    let after = spawn_gateway(settings()).await;
    assert_refused(&after, &old_token).await;
    after.stop().await;
}

#[tokio::test]
async fn a_token_signed_with_neither_key_is_refused_while_rotating() {
    let gateway = spawn_gateway(rotating()).await;

    let forged = sign(
        &claims("alice", "customer"),
        "a-key-the-gateway-never-had-0123456789",
    );

    assert_refused(&gateway, &forged).await;
    gateway.stop().await;
}

#[tokio::test]
async fn the_previous_key_is_held_to_the_same_claims_as_the_current_one() {
    let gateway = spawn_gateway(rotating()).await;
    let mut expired = claims("alice", "customer");
    expired["exp"] = (crate::helpers::now() - 120).into();
    let mut other_audience = claims("alice", "customer");
    other_audience["aud"] = "another-api".into();

    assert_refused(&gateway, &sign(&expired, PREVIOUS)).await;
    assert_refused(&gateway, &sign(&other_audience, PREVIOUS)).await;
    gateway.stop().await;
}

#[tokio::test]
async fn development_tokens_are_signed_with_the_current_key_while_rotating() {
    let gateway = spawn_gateway(rotating()).await;
    let body: Value = gateway
        .post("/auth/dev-token")
        .json(&json!({ "userId": "alice", "role": "customer" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = body["accessToken"].as_str().unwrap().to_owned();
    gateway.stop().await;

    // Once the previous key is gone, and even if it were made the current one again, only the
    // current key verifies the token.
    let current_only = spawn_gateway(settings()).await;
    assert_accepted(&current_only, &token).await;
    current_only.stop().await;
    let mut previous_only = settings();
    previous_only.jwt.secret = SecretString::from(PREVIOUS);
    let previous_only = spawn_gateway(previous_only).await;
    assert_refused(&previous_only, &token).await;
    previous_only.stop().await;
}

#[tokio::test]
async fn a_previous_secret_shorter_than_32_bytes_stops_the_start_up() {
    let mut settings = settings();
    settings.jwt.previous_secret = SecretString::from("too-short");

    let error = gateway::build(settings).await.err().unwrap();

    assert_eq!(
        format!("{error:#}"),
        "JWT_PREVIOUS_SECRET must be at least 32 bytes with HS256"
    );
}
