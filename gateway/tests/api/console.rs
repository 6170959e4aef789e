//! The gateway's own routes for the web console: its files, the services' health for the ops
//! page, and the live stream's refusals (the stream itself is tested on the whole system, in
//! system-tests' `console`).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Bearer, assert_problem, settings, spawn_gateway, spawn_with_payment, token};

#[tokio::test]
async fn the_console_is_served_without_a_token_and_offers_development_sign_in_only_where_tokens_are_on()
 {
    for (dev_tokens, mark) in [(true, "content=\"on\""), (false, "content=\"off\"")] {
        let gateway = spawn_gateway(gateway::Settings {
            dev_tokens,
            ..settings()
        })
        .await;

        let page = gateway.get("/").send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
        let html = page.text().await.unwrap();
        assert!(html.contains(mark), "dev tokens {dev_tokens}: {html}");

        let module = gateway.get("/console/app.js").send().await.unwrap();
        assert_eq!(module.status(), StatusCode::OK);
        assert_eq!(
            module.headers()["content-type"],
            "text/javascript; charset=utf-8"
        );
        let missing = gateway.get("/console/nothing.js").send().await.unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        gateway.stop().await;
    }
}

#[tokio::test]
async fn the_services_health_is_for_admins_and_says_which_service_answers() {
    let (gateway, payment) = spawn_with_payment(settings()).await;

    let anonymous = gateway.get("/ops/services").send().await.unwrap();
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let customer = gateway
        .get("/ops/services")
        .bearer(&token("alice", "customer"))
        .send()
        .await
        .unwrap();
    assert_problem(customer, StatusCode::FORBIDDEN, "forbidden").await;

    let services: Value = test_stack::eventually(
        Duration::from_secs(30),
        "the payment service ready",
        || async {
            let answer: Value = gateway
                .get("/ops/services")
                .bearer(&token("ada", "admin"))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            (answer[1]["ready"] == true).then_some(answer)
        },
    )
    .await;
    let names: Vec<&str> = services
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "order",
            "payment",
            "store",
            "delivery",
            "notification",
            "mypage",
            "review"
        ]
    );
    assert_eq!(services[1]["reachable"], true);
    assert!(!services[1]["metrics"].as_object().unwrap().is_empty());
    // The others are at closed ports: neither reachable nor ready.
    assert_eq!(services[0]["reachable"], false);
    assert_eq!(services[0]["ready"], false);

    gateway.stop().await;
    payment.finish().await;
}

#[tokio::test]
async fn the_live_stream_is_refused_without_a_token_a_store_or_the_service_that_knows_the_order() {
    let gateway = spawn_gateway(settings()).await;
    let live = "/live/orders/01936b7e-3f7c-7d4a-9a6e-000000000001";

    let anonymous = gateway.get(live).send().await.unwrap();
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let owner = gateway
        .get(live)
        .bearer(&token("olivia", "owner"))
        .send()
        .await
        .unwrap();
    assert_problem(owner, StatusCode::UNPROCESSABLE_ENTITY, "store_id_required").await;
    let malformed = gateway
        .get(&format!("{live}?storeId=not-a-uuid"))
        .bearer(&token("olivia", "owner"))
        .send()
        .await
        .unwrap();
    assert_problem(malformed, StatusCode::BAD_REQUEST, "malformed_query").await;
    // The order service, which says whose the order is, is away: no stream, a 503 to retry.
    let customer = gateway
        .get(live)
        .bearer(&token("alice", "customer"))
        .send()
        .await
        .unwrap();
    assert_eq!(customer.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(customer.headers().contains_key("retry-after"));
    gateway.stop().await;
}
