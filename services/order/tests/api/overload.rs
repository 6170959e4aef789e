//! Past its capacity the order service refuses what it cannot start soon, at once and cleanly
//! (503, Retry-After, problem+json), never with a 500, and keeps a share for orders that exist.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use service_runtime::admission::AdmissionSettings;
use test_stack::AsUser;

use crate::helpers::{Options, spawn_app_with};

#[tokio::test]
async fn past_its_limit_new_orders_are_refused_at_once_with_503_while_a_cancellation_still_goes_through()
 {
    // Two slots, one of them reserved for work on existing orders; every payment takes 400 ms,
    // so each admitted order holds its slot that long.
    let app = spawn_app_with(Options {
        admission: AdmissionSettings {
            reserved_share: 0.5,
            ..AdmissionSettings::fixed(2)
        },
        ..Options::default()
    })
    .await;
    let earlier = app.place_ok(1).await;
    app.set_payment_faults(400, 0.0).await;

    let burst: Vec<_> = (0..20)
        .map(|i| {
            let (client, url, body) = (
                app.order.client.clone(),
                app.order.url("/orders"),
                app.order_body(1),
            );
            tokio::spawn(async move {
                let started = Instant::now();
                let response = client
                    .post(url)
                    .as_user(&format!("burst-{i}"), "customer")
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                (response, started.elapsed())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let cancel = app
        .order
        .post(&format!(
            "/orders/{}/cancel",
            earlier["id"].as_str().unwrap()
        ))
        .as_user("alice", "customer")
        .send()
        .await
        .unwrap();

    let (mut placed, mut refused) = (0, 0);
    for answer in burst {
        let (response, took) = answer.await.unwrap();
        match response.status() {
            StatusCode::CREATED => placed += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                refused += 1;
                assert_eq!(response.headers()["retry-after"], "1");
                assert_eq!(
                    response.headers()["content-type"],
                    "application/problem+json"
                );
                let problem: Value = response.json().await.unwrap();
                assert_eq!(problem["code"], "overloaded");
                // Refused without waiting behind the 400 ms payments (slack for a busy machine).
                assert!(took < Duration::from_millis(300), "refused after {took:?}");
            }
            other => panic!("a burst order was answered {other}"),
        }
    }
    assert!(placed >= 1, "no order of the burst was placed");
    assert!(refused >= 10, "only {refused} of 20 were refused");
    assert_eq!(cancel.status(), StatusCode::OK, "the cancellation was shed");
}

#[tokio::test]
async fn a_request_that_arrives_with_its_time_spent_is_refused_without_touching_the_database() {
    let app = spawn_app_with(Options::default()).await;
    let payments_before = app.payment_count().await;

    let response = app
        .order
        .post("/orders")
        .as_user("alice", "customer")
        .header("x-request-budget-ms", "5")
        .json(&app.order_body(1))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "deadline_exceeded");
    let orders: i64 = sqlx::query_scalar("select count(*) from customer_order")
        .fetch_one(&app.order_db.pool)
        .await
        .unwrap();
    assert_eq!(orders, 0);
    assert_eq!(app.payment_count().await, payments_before);
}
