use reqwest::StatusCode;

use crate::helpers::{settings, spawn_gateway};

#[tokio::test]
async fn the_api_document_is_served_without_a_token() {
    let gateway = spawn_gateway(settings()).await;

    let response = gateway.get("/openapi.json").send().await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let body = response.text().await.unwrap();
    assert_eq!(body, gateway::openapi::DOCUMENT);
    let document: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    gateway.stop().await;
}
