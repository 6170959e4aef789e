//! The gateway retries an idempotent call whose connection was refused, within a budget of a
//! tenth of the calls, and never a call that is not idempotent. (Its own test binary: the
//! retry counters are the process's, and no other test may add to them.)

#![allow(clippy::unwrap_used)]

// The suite's helpers, of which this binary uses a few.
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use reqwest::StatusCode;
use serde_json::json;
use test_stack::RunningApp;

use crate::helpers::{Bearer, settings, spawn_gateway, token};

/// `retries_total{client="order", outcome=...}` from the gateway's metrics.
async fn retries(gateway: &RunningApp, outcome: &str) -> u64 {
    let metrics = gateway
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = format!("retries_total{{client=\"order\",outcome=\"{outcome}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .map_or(0, |value| value.trim().parse().unwrap())
}

#[tokio::test]
async fn refused_connections_are_retried_for_idempotent_calls_only_and_at_most_a_tenth_more() {
    // Every service at a port where nothing listens: each connection is refused.
    let gateway = spawn_gateway(settings()).await;
    let customer = token("alice", "customer");

    // Not idempotent: sent once, not retried.
    for _ in 0..5 {
        let answer = gateway
            .post("/orders")
            .bearer(&customer)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(retries(&gateway, "retried").await, 0);

    // Idempotent (a read; a POST with an Idempotency-Key): retried while the budget lasts.
    for i in 0..50 {
        let request = match i % 2 {
            0 => gateway.get("/orders"),
            _ => gateway
                .post("/orders")
                .header("idempotency-key", format!("key-{i}"))
                .json(&json!({})),
        };
        let answer = request.bearer(&customer).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    // The budget starts with 10 retries and earns a tenth of one per call.
    let retried = retries(&gateway, "retried").await;
    let refused = retries(&gateway, "no_budget").await;
    assert!(
        (10..=15).contains(&retried),
        "{retried} retries for 50 calls"
    );
    assert_eq!(retried + refused, 50);
    gateway.stop().await;
}
