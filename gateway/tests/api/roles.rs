use reqwest::{Method, StatusCode};

use crate::helpers::{Bearer, assert_problem, settings, spawn_gateway, token};

#[tokio::test]
async fn customers_are_forbidden_owner_rider_and_admin_actions() {
    let gateway = spawn_gateway(settings()).await;
    let customer = token("alice", "customer");

    for (method, path) in [
        (Method::POST, "/stores"),
        (Method::POST, "/stores/1/menu"),
        (Method::PATCH, "/stores/1/menu/2"),
        (Method::DELETE, "/stores/1/menu/2"),
        (Method::GET, "/store-orders?storeId=1"),
        (Method::POST, "/store-orders/1/accept"),
        (Method::POST, "/deliveries/1/complete"),
        (Method::POST, "/deliveries/1/accident"),
        (Method::POST, "/payments"),
        (Method::PUT, "/admin/payment/faults"),
    ] {
        let response = gateway
            .client
            .request(method.clone(), gateway.url(path))
            .bearer(&customer)
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
    }
    gateway.stop().await;
}

#[tokio::test]
async fn owners_and_riders_cannot_place_orders() {
    let gateway = spawn_gateway(settings()).await;

    for role in ["owner", "rider"] {
        let response = gateway
            .post("/orders")
            .bearer(&token("bob", role))
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
    }
    gateway.stop().await;
}

#[tokio::test]
async fn a_role_allowed_by_the_rules_reaches_the_service() {
    let gateway = spawn_gateway(settings()).await;

    let response = gateway
        .post("/store-orders/1/accept")
        .bearer(&token("olivia", "owner"))
        .send()
        .await
        .unwrap();

    // Not refused by the gateway: the (stopped) store service is what is missing.
    assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "upstream_unavailable",
    )
    .await;
    gateway.stop().await;
}
