//! The figures ops watch, scraped from `/metrics` after an order's whole life through the
//! gateway: every consumer group's lag per partition, back to zero once the order is done; the
//! outbox's gauges; how long events took to apply (mypage's projection delay); requests counted
//! by route template, never by raw path; the payment breaker and bulkhead; readiness.
//!
//! The whole system runs in this one process with one recorder, so each service's `/metrics`
//! shows every service's series (and other tests' too): series are told apart by this system's
//! topic prefix where they carry it (the consumer groups), and otherwise asserted for what any
//! healthy system shows.
//!
//! And the payment call's breaker: with payment failing, orders open it, which its transition
//! and refusal counters show.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::system::{PATIENCE, System};

/// One series of a scrape: its name, its labels as written, its value.
struct Series {
    name: String,
    labels: String,
    value: f64,
}

impl Series {
    fn label(&self, key: &str) -> Option<&str> {
        let start = self.labels.find(&format!("{key}=\""))? + key.len() + 2;
        let end = start + self.labels[start..].find('"')?;
        Some(&self.labels[start..end])
    }
}

fn parse(text: &str) -> Vec<Series> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (name, labels) = series.split_once('{').unwrap_or((series, "}"));
            Some(Series {
                name: name.to_owned(),
                labels: labels.trim_end_matches('}').to_owned(),
                value: value.parse().ok()?,
            })
        })
        .collect()
}

async fn scrape(app: &test_stack::RunningApp) -> (String, Vec<Series>) {
    let response = app.get("/metrics").send().await.unwrap();
    assert!(response.status().is_success());
    let text = response.text().await.unwrap();
    let series = parse(&text);
    (text, series)
}

#[tokio::test]
async fn after_an_order_the_metrics_show_lag_per_partition_outbox_backlog_routes_and_projection_delay()
 {
    // Arrange
    let system = System::start().await;
    let (owner, customer, rider) = (
        system.user("olivia", "owner").await,
        system.user("alice", "customer").await,
        system.user("ryan", "rider").await,
    );
    let (store_id, item_id) = system.open_store(&owner).await;

    // Act: an order's whole life, and the customer looks at it.
    let order_id = customer.place(&store_id, &item_id).await;
    owner.cook(&store_id, &order_id).await;
    rider.deliver(&order_id).await;
    customer
        .wait_for(
            &format!("/mypage/orders/{order_id}"),
            "mypage: delivered",
            |v| v["deliveryStatus"] == "Completed",
        )
        .await;
    customer.get(&format!("/orders/{order_id}")).await;

    // Assert: every group of this system (those below at least: a service may add one) has a
    // lag series for each partition of its topics, and once the order is done each reads 0
    // (the groups have committed everything).
    let prefix = system.kafka.topics.prefix().to_owned();
    let groups = [
        "order.menu",
        "order.progress",
        "payment.refunds",
        "store.orders",
        "store.ratings",
        "delivery.deliveries",
        "notification.notifier",
        "mypage.projection",
        "review.facts",
    ];
    let partitions = system.kafka.partitions as usize;
    test_stack::eventually(PATIENCE, "every group's lag at 0", || async {
        let (_, series) = scrape(&system.order).await;
        let mut lags: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for s in series.iter().filter(|s| s.name == "kafka_consumer_lag") {
            if let Some(group) = s.label("group").and_then(|g| g.strip_prefix(&prefix)) {
                lags.entry(group.to_owned()).or_default().push(s.value);
            }
        }
        let complete = groups.iter().all(|g| lags.contains_key(*g))
            && lags
                .values()
                .all(|l| !l.is_empty() && l.len() % partitions == 0);
        (complete && lags.values().flatten().all(|lag| *lag == 0.0)).then_some(())
    })
    .await;

    let (text, series) = scrape(&system.order).await;
    let value = |name: &str, with: &str| -> Vec<f64> {
        series
            .iter()
            .filter(|s| s.name == name && s.labels.contains(with))
            .map(|s| s.value)
            .collect()
    };

    // The outbox: gauges per service (here every service is named `system`), none stuck.
    let service = format!("service=\"{}\"", system.kafka.client_id);
    for gauge in [
        "outbox_pending",
        "outbox_parked",
        "outbox_oldest_pending_age_seconds",
    ] {
        let values = value(gauge, &service);
        assert!(values.len() == 1 && values[0] >= 0.0, "{gauge}: {values:?}");
    }
    assert!(value("outbox_oldest_pending_age_seconds", &service)[0] < 60.0);

    // Projection delay: mypage applied this order's events, each within the test's patience.
    let applied = value(
        "event_apply_delay_seconds_count",
        "consumer=\"mypage.projection\"",
    );
    let total = value(
        "event_apply_delay_seconds_sum",
        "consumer=\"mypage.projection\"",
    );
    assert!(applied.len() == 1 && applied[0] >= 5.0, "{applied:?}");
    assert!(total[0] / applied[0] < PATIENCE.as_secs_f64(), "{total:?}");
    assert!(
        !value(
            "event_apply_delay_seconds_bucket",
            "consumer=\"mypage.projection\""
        )
        .is_empty(),
        "a histogram with buckets"
    );

    // RED per route: the order was placed and read, counted under the routes' templates; no
    // series names the order itself.
    let placed = value("http_requests_total", "route=\"/orders\"");
    assert!(placed.iter().sum::<f64>() >= 1.0, "{placed:?}");
    assert!(
        series
            .iter()
            .any(|s| s.name == "http_requests_total"
                && s.label("route") == Some("/orders/{orderId}")),
        "GET /orders/{{orderId}} by its template"
    );
    assert!(!text.contains(&order_id), "a raw path in a label");
    assert!(!value("http_request_duration_seconds_bucket", "route=\"/orders\"").is_empty());

    // The payment call's breaker and bulkhead.
    let state = value("payment_breaker_state", "");
    assert!(
        state.len() == 1 && (0.0..=2.0).contains(&state[0]),
        "{state:?}"
    );
    let capacity = value("payment_bulkhead_capacity", "");
    let in_flight = value("payment_bulkhead_in_flight", "");
    assert!(capacity.len() == 1 && capacity[0] >= 1.0, "{capacity:?}");
    assert!(
        in_flight.len() == 1 && (0.0..=capacity[0]).contains(&in_flight[0]),
        "{in_flight:?}"
    );

    // Readiness, read at the scrape.
    assert_eq!(value("service_ready", ""), [1.0]);

    system.finish().await;
}

/// The sum of `name`'s series whose labels include `with`, from a scrape.
async fn sum_of(app: &test_stack::RunningApp, name: &str, with: &str) -> f64 {
    let (_, series) = scrape(app).await;
    series
        .iter()
        .filter(|s| s.name == name && s.labels.contains(with))
        .map(|s| s.value)
        .sum()
}

#[tokio::test]
async fn a_failing_payment_service_opens_the_breaker_and_the_metrics_count_it() {
    // Arrange: a store, and payment failing every call.
    let system = System::start().await;
    let (owner, customer, admin) = (
        system.user("olivia", "owner").await,
        system.user("alice", "customer").await,
        system.user("ada", "admin").await,
    );
    let (store_id, item_id) = system.open_store(&owner).await;
    // Other tests' order services share this process's recorder: counters only grow, so the
    // differences are what this test caused (or more, never less).
    let opened = sum_of(
        &system.order,
        "payment_breaker_transitions_total",
        "to=\"open\"",
    )
    .await;
    let shed = sum_of(
        &system.order,
        "payment_calls_failed_total",
        "reason=\"breaker_open\"",
    )
    .await;
    let (status, _) = admin
        .send(
            Method::PUT,
            "/admin/payment/faults",
            Some(json!({ "delay": { "minMs": 0, "maxMs": 0 }, "failureRate": 1.0 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Act: orders until the breaker refuses them without calling payment.
    let order = json!({
        "storeId": store_id,
        "items": [{ "menuItemId": item_id, "quantity": 1 }],
        "deliveryAddress": "Seoul, Gangnam-gu",
    });
    let mut refused = 0;
    for _ in 0..60 {
        let (status, _) = customer
            .send(Method::POST, "/orders", Some(order.clone()))
            .await;
        assert_ne!(status, StatusCode::CREATED, "payment fails every call");
        if sum_of(
            &system.order,
            "payment_calls_failed_total",
            "reason=\"breaker_open\"",
        )
        .await
            > shed
        {
            refused += 1;
            break;
        }
    }

    // Assert: the breaker opened, counted as a transition, and shed calls.
    assert_eq!(refused, 1, "the breaker never refused a call");
    assert!(
        sum_of(
            &system.order,
            "payment_breaker_transitions_total",
            "to=\"open\""
        )
        .await
            > opened
    );
    let capacity = sum_of(&system.order, "payment_bulkhead_capacity", "").await;
    assert!(capacity >= 1.0, "{capacity}");

    system.finish().await;
}
