#![allow(clippy::unwrap_used)]

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::{get, post};
use tokio::time::Instant;
use tower::ServiceExt;

use super::*;
use crate::deadline::{self, Deadline};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn soon() -> Deadline {
    Deadline::after(Duration::from_secs(5))
}

#[tokio::test(start_paused = true)]
async fn a_request_beyond_the_limit_is_refused_after_the_short_queue_wait() {
    let limiter = Limiter::new("test", AdmissionSettings::fixed(2));
    let _a = limiter
        .acquire("r", Priority::Ongoing, soon())
        .await
        .unwrap();
    let _b = limiter
        .acquire("r", Priority::Ongoing, soon())
        .await
        .unwrap();

    let started = Instant::now();
    let refused = limiter.acquire("r", Priority::Ongoing, soon()).await;

    assert_eq!(refused.unwrap_err(), Refusal::Busy);
    assert_eq!(started.elapsed(), AdmissionSettings::fixed(2).queue_timeout);
    assert_eq!(limiter.in_flight(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_waiting_request_takes_the_slot_freed_while_it_waits() {
    let limiter = Limiter::new("test", AdmissionSettings::fixed(1));
    let first = limiter
        .acquire("r", Priority::Ongoing, soon())
        .await
        .unwrap();
    let waiter = {
        let limiter = limiter.clone();
        tokio::spawn(async move { limiter.acquire("r", Priority::Ongoing, soon()).await })
    };
    tokio::time::sleep(ms(5)).await;

    drop(first);

    let _second = waiter.await.unwrap().unwrap();
    assert_eq!(limiter.in_flight(), 1);
}

#[tokio::test(start_paused = true)]
async fn new_work_is_refused_while_the_reserved_share_still_admits_work_on_existing_orders() {
    let limiter = Limiter::new("test", AdmissionSettings::fixed(4));
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(limiter.acquire("new", Priority::New, soon()).await.unwrap());
    }

    let started = Instant::now();
    let new = limiter.acquire("new", Priority::New, soon()).await;
    let new_refused_after = started.elapsed();
    let ongoing = limiter.acquire("cancel", Priority::Ongoing, soon()).await;

    assert_eq!(new.unwrap_err(), Refusal::Busy);
    assert_eq!(new_refused_after, ms(10), "new work waits less");
    assert!(ongoing.is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_request_with_its_time_nearly_spent_is_refused_without_waiting() {
    let limiter = Limiter::new("test", AdmissionSettings::fixed(4));
    let started = Instant::now();

    let refused = limiter
        .acquire("r", Priority::Ongoing, Deadline::after(ms(15)))
        .await;

    assert_eq!(refused.unwrap_err(), Refusal::Deadline);
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(limiter.in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn the_wait_for_a_slot_never_outlasts_the_requests_deadline() {
    let limiter = Limiter::new("test", AdmissionSettings::fixed(1));
    let _held = limiter
        .acquire("r", Priority::Ongoing, soon())
        .await
        .unwrap();
    let started = Instant::now();

    let refused = limiter
        .acquire("r", Priority::Ongoing, Deadline::after(ms(30)))
        .await;

    assert_eq!(refused.unwrap_err(), Refusal::Busy);
    // 30 ms left, less the 20 ms a request needs to be worth starting.
    assert_eq!(started.elapsed(), ms(10));
}

#[tokio::test(start_paused = true)]
async fn no_more_requests_wait_than_could_run() {
    let limiter = Limiter::new("test", AdmissionSettings::fixed(1));
    let _held = limiter
        .acquire("r", Priority::Ongoing, soon())
        .await
        .unwrap();
    let waiting = {
        let limiter = limiter.clone();
        tokio::spawn(async move { limiter.acquire("r", Priority::Ongoing, soon()).await })
    };
    tokio::task::yield_now().await;
    let started = Instant::now();

    let refused = limiter.acquire("r", Priority::Ongoing, soon()).await;

    assert_eq!(refused.unwrap_err(), Refusal::Busy);
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(waiting.await.unwrap().unwrap_err(), Refusal::Busy);
}

#[tokio::test(start_paused = true)]
async fn the_limit_shrinks_when_requests_slow_down() {
    let settings = AdmissionSettings {
        max_limit: 32,
        min_limit: 2,
        initial_limit: 16,
        ..AdmissionSettings::default()
    };
    let limiter = Limiter::new("test", settings);
    for latency in [5, 5, 5, 5, 5].into_iter().chain([50; 40]) {
        let permit = limiter
            .acquire("r", Priority::Ongoing, soon())
            .await
            .unwrap();
        tokio::time::sleep(ms(latency)).await;
        drop(permit);
    }
    assert_eq!(limiter.limit(), 2);
}

#[tokio::test(start_paused = true)]
async fn time_spent_waiting_on_another_service_does_not_shrink_the_limit() {
    let settings = AdmissionSettings {
        max_limit: 32,
        min_limit: 2,
        initial_limit: 16,
        ..AdmissionSettings::default()
    };
    let limiter = Limiter::new("test", settings);
    // As above, the requests slow from 5 to 50 ms, but 45 ms of it is a dependency's answer.
    for (latency, downstream) in [(5, 0); 5].into_iter().chain([(50, 45); 40]) {
        let mut permit = limiter
            .acquire("r", Priority::Ongoing, soon())
            .await
            .unwrap();
        tokio::time::sleep(ms(latency)).await;
        permit.discount(ms(downstream));
        drop(permit);
    }
    assert!(limiter.limit() >= 16, "limit {}", limiter.limit());
}

#[tokio::test(start_paused = true)]
async fn a_handler_reports_its_downstream_wait_through_the_response() {
    let settings = AdmissionSettings {
        max_limit: 32,
        min_limit: 2,
        initial_limit: 16,
        ..AdmissionSettings::default()
    };
    let limiter = Limiter::new("test", settings);
    // The first five answer in 5 ms; then payment slows down: 500 ms, 495 of them waiting on it.
    let served = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let routes = Router::new().route(
        "/orders",
        post(move || {
            let n = served.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                if n < 5 {
                    tokio::time::sleep(ms(5)).await;
                    return "placed".into_response();
                }
                tokio::time::sleep(ms(500)).await;
                let mut response = "placed".into_response();
                response.extensions_mut().insert(Downstream(ms(495)));
                response
            }
        }),
    );
    let admission = Admission::new(Arc::clone(&limiter), Duration::from_secs(10));
    let app = crate::http::admitted(routes, admission);

    for _ in 0..45 {
        let answer = app
            .clone()
            .oneshot(request("POST", "/orders"))
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
    }

    assert!(limiter.limit() >= 16, "limit {}", limiter.limit());
}

/// A service's routes behind admission (one slot), plus the operational endpoints.
fn service(limit: usize) -> Router {
    let settings = AdmissionSettings::fixed(limit).with_new_work(Method::POST, "/orders");
    let routes = Router::new()
        .route(
            "/orders",
            post(|| async {
                tokio::time::sleep(ms(100)).await;
                "placed"
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "late"
            }),
        );
    let admission = Admission::new(Limiter::new("test", settings), Duration::from_secs(10));
    crate::http::app(
        crate::http::admitted(routes, admission),
        crate::Readiness::new(tokio_util::sync::CancellationToken::new()),
        Duration::from_secs(30),
    )
}

fn request(method: &str, uri: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn over_the_limit_the_answer_is_a_503_problem_with_retry_after() {
    let app = service(1);
    let first = tokio::spawn(app.clone().oneshot(request("POST", "/orders")));
    tokio::task::yield_now().await;

    let refused = app
        .clone()
        .oneshot(request("POST", "/orders"))
        .await
        .unwrap();
    let live = app.oneshot(request("GET", "/health/live")).await.unwrap();

    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
    assert_eq!(
        refused.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    assert_eq!(live.status(), StatusCode::OK, "health is never shed");
    assert_eq!(first.await.unwrap().unwrap().status(), StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn a_request_that_arrives_with_its_budget_spent_is_refused_before_the_handler() {
    let app = service(4);
    let mut spent = request("POST", "/orders");
    spent
        .headers_mut()
        .insert(deadline::HEADER, "5".parse().unwrap());

    let answer = app.oneshot(spent).await.unwrap();

    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.headers()[header::RETRY_AFTER], "1");
}

#[tokio::test(start_paused = true)]
async fn a_handler_still_running_at_the_deadline_is_cut_off_with_a_503() {
    let app = service(4);
    let mut budgeted = request("GET", "/slow");
    budgeted
        .headers_mut()
        .insert(deadline::HEADER, "250".parse().unwrap());
    let started = Instant::now();

    let answer = app.oneshot(budgeted).await.unwrap();

    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(started.elapsed(), ms(250));
}
