use reqwest::StatusCode;
use serde_json::Value;
use test_stack::RunningApp;
use uuid::Uuid;

use crate::helpers::{
    Bearer, SECRET, assert_problem, claims, now, pay, settings, sign, spawn_gateway,
    spawn_with_payment, token,
};

/// Asserts that `token` is refused with a 401 problem on a route that exists.
async fn assert_refused(gateway: &RunningApp, token: &str) {
    let response = gateway
        .get("/payments?orderId=1")
        .bearer(token)
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn a_request_without_a_token_is_401() {
    let gateway = spawn_gateway(settings()).await;

    let response = gateway.get("/orders").send().await.unwrap();

    assert_problem(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let basic = gateway
        .get("/orders")
        .header("authorization", "Basic YTpi")
        .send()
        .await
        .unwrap();
    assert_problem(basic, StatusCode::UNAUTHORIZED, "unauthorized").await;
    gateway.stop().await;
}

#[tokio::test]
async fn an_expired_token_is_401() {
    let gateway = spawn_gateway(settings()).await;
    let mut expired = claims("alice", "customer");
    expired["exp"] = (now() - 120).into();

    assert_refused(&gateway, &sign(&expired, SECRET)).await;
    gateway.stop().await;
}

#[tokio::test]
async fn a_token_expired_within_the_leeway_is_still_accepted() {
    let gateway = spawn_gateway(settings()).await;
    let mut just_expired = claims("alice", "customer");
    just_expired["exp"] = (now() - 5).into();

    let response = gateway
        .get("/payments?orderId=1")
        .bearer(&sign(&just_expired, SECRET))
        .send()
        .await
        .unwrap();

    // Past authentication: the (closed) payment service is what answers.
    assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "upstream_unavailable",
    )
    .await;
    gateway.stop().await;
}

#[tokio::test]
async fn a_token_with_a_wrong_signature_is_401() {
    let gateway = spawn_gateway(settings()).await;

    let forged = sign(
        &claims("alice", "customer"),
        "another-secret-of-at-least-32-bytes!!",
    );

    assert_refused(&gateway, &forged).await;
    gateway.stop().await;
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_401() {
    let gateway = spawn_gateway(settings()).await;
    let valid = token("alice", "admin");
    let payload = valid.split('.').nth(1).unwrap();
    // {"alg":"none","typ":"JWT"}
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");

    assert_refused(&gateway, &unsigned).await;
    gateway.stop().await;
}

#[tokio::test]
async fn a_token_for_another_audience_is_401() {
    let gateway = spawn_gateway(settings()).await;
    let mut other = claims("alice", "customer");
    other["aud"] = "another-api".into();

    assert_refused(&gateway, &sign(&other, SECRET)).await;
    gateway.stop().await;
}

#[tokio::test]
async fn a_token_from_another_issuer_is_401() {
    let gateway = spawn_gateway(settings()).await;
    let mut other = claims("alice", "customer");
    other["iss"] = "someone-else".into();

    assert_refused(&gateway, &sign(&other, SECRET)).await;
    gateway.stop().await;
}

#[tokio::test]
async fn a_token_with_a_tampered_payload_is_401() {
    let gateway = spawn_gateway(settings()).await;
    let alice = token("alice", "customer");
    let mallory_as_admin = sign(
        &claims("mallory", "admin"),
        "any-key-the-attacker-chose-0123456",
    );
    let parts: Vec<&str> = alice.split('.').collect();
    let tampered_payload = mallory_as_admin.split('.').nth(1).unwrap();
    let tampered = format!("{}.{tampered_payload}.{}", parts[0], parts[2]);

    assert_refused(&gateway, &tampered).await;
    gateway.stop().await;
}

#[tokio::test]
async fn tokens_missing_claims_or_with_an_unknown_role_or_garbage_are_401() {
    let gateway = spawn_gateway(settings()).await;
    let mut tokens = vec!["not-a-jwt".to_owned(), "a.b.c".to_owned()];
    for claim in ["exp", "iss", "aud", "sub", "role"] {
        let mut partial = claims("alice", "customer");
        partial.as_object_mut().unwrap().remove(claim);
        tokens.push(sign(&partial, SECRET));
    }
    tokens.push(sign(&claims("alice", "superuser"), SECRET));
    tokens.push(sign(&claims("", "customer"), SECRET));

    for token in &tokens {
        assert_refused(&gateway, token).await;
    }
    gateway.stop().await;
}

#[tokio::test]
async fn a_spoofed_x_user_id_is_ignored() {
    let (gateway, payment) = spawn_with_payment(settings()).await;
    let order_id = Uuid::new_v4();
    pay(&payment, order_id, "alice").await;

    let response = gateway
        .get(&format!("/payments?orderId={order_id}"))
        .bearer(&token("mallory", "customer"))
        .header("x-user-id", "alice")
        .header("x-user-role", "admin")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let payments: Vec<Value> = response.json().await.unwrap();
    assert!(payments.is_empty(), "mallory saw {payments:?}");
    gateway.stop().await;
    payment.finish().await;
}

#[tokio::test]
async fn a_customer_cannot_see_another_customers_payment() {
    let (gateway, payment) = spawn_with_payment(settings()).await;
    let alices_order = Uuid::new_v4();
    let bobs_order = Uuid::new_v4();
    pay(&payment, alices_order, "alice").await;
    let bobs = pay(&payment, bobs_order, "bob").await;
    let as_alice = |order: Uuid| {
        gateway
            .get(&format!("/payments?orderId={order}"))
            .bearer(&token("alice", "customer"))
            .send()
    };

    let own: Vec<Value> = as_alice(alices_order).await.unwrap().json().await.unwrap();
    let others: Vec<Value> = as_alice(bobs_order).await.unwrap().json().await.unwrap();

    assert_eq!(own.len(), 1);
    assert_eq!(own[0]["customerId"], "alice");
    assert!(others.is_empty(), "alice saw bob's payment {bobs}");
    gateway.stop().await;
    payment.finish().await;
}
