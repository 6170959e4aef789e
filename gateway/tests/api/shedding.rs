//! Once the order service refuses new orders, the gateway refuses what it would, without
//! asking it, and still lets through the work on existing orders.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use reqwest::Response as Answer;
use service_runtime::admission::REFUSED_HEADER;

use crate::helpers::{Bearer, assert_problem, settings, spawn_gateway, token};

/// How many new orders the stand-in order service works on at once; each takes `HOLD`.
const CAPACITY: usize = 2;
const HOLD: Duration = Duration::from_millis(600);

/// A stand-in order service: takes `CAPACITY` new orders at a time (each takes `HOLD`),
/// refuses the others as admission control does, answers cancellations at once, and counts
/// the new orders it received.
async fn stand_in_order_service() -> (String, Arc<AtomicUsize>) {
    let received = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let counted = received.clone();
    let place = move || {
        let (received, in_flight) = (counted.clone(), in_flight.clone());
        async move {
            received.fetch_add(1, Ordering::SeqCst);
            if in_flight.fetch_add(1, Ordering::SeqCst) >= CAPACITY {
                in_flight.fetch_sub(1, Ordering::SeqCst);
                let mut refused: Response = StatusCode::SERVICE_UNAVAILABLE.into_response();
                refused
                    .headers_mut()
                    .insert(REFUSED_HEADER, HeaderValue::from_static("busy"));
                return refused;
            }
            tokio::time::sleep(HOLD).await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            StatusCode::CREATED.into_response()
        }
    };
    let app = Router::new()
        .route("/orders", post(place))
        .route("/orders/{id}/cancel", post(|| async { StatusCode::OK }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[tokio::test]
async fn after_the_service_refuses_new_orders_the_gateway_refuses_the_excess_itself_but_not_cancellations()
 {
    let (url, received) = stand_in_order_service().await;
    let mut settings = settings();
    settings.upstreams.order.base_url = url;
    let gateway = spawn_gateway(settings).await;
    let customer = token("alice", "customer");
    let place = || {
        gateway
            .post("/orders")
            .bearer(&customer)
            .json(&serde_json::json!({}))
            .send()
    };
    let statuses = |answers: Vec<Result<Answer, reqwest::Error>>| -> Vec<StatusCode> {
        answers.into_iter().map(|a| a.unwrap().status()).collect()
    };

    // A burst the service refuses most of (before any refusal, all of it goes through): the
    // gateway learns that the service takes two at a time.
    let burst = futures::future::join_all((0..8).map(|_| place()));
    let meanwhile = async {
        while received.load(Ordering::SeqCst) < 8 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // The six refusals are back; the two orders taken are still in progress. A new order
        // is refused by the gateway itself now, and a cancellation still goes through.
        tokio::time::sleep(HOLD / 6).await;
        let refused = place().await.unwrap();
        let cancel = gateway
            .post("/orders/0193a0c2-7f00-7000-8000-000000000001/cancel")
            .bearer(&customer)
            .send()
            .await
            .unwrap();
        (refused, cancel.status())
    };
    let (burst, (refused, cancel)) = tokio::join!(burst, meanwhile);
    let burst = statuses(burst);
    assert_eq!(
        burst.iter().filter(|s| **s == StatusCode::CREATED).count(),
        CAPACITY,
        "{burst:?}"
    );
    assert_eq!(cancel, StatusCode::OK);
    assert_eq!(refused.headers()[REFUSED_HEADER], "busy");
    assert!(refused.headers().contains_key("retry-after"));
    assert_problem(refused, StatusCode::SERVICE_UNAVAILABLE, "overloaded").await;
    let sent = received.load(Ordering::SeqCst);
    assert_eq!(
        sent, 8,
        "the order refused by the gateway never reached the service"
    );

    // A second without refusals lifts the cap.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let later = statuses(futures::future::join_all((0..CAPACITY + 1).map(|_| place())).await);
    assert_eq!(received.load(Ordering::SeqCst), sent + CAPACITY + 1);
    assert_eq!(
        later.iter().filter(|s| **s == StatusCode::CREATED).count(),
        CAPACITY
    );
    gateway.stop().await;
}
