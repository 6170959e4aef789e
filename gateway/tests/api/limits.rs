use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{
    Bearer, Payment, assert_problem, settings, spawn_gateway, spawn_with_payment, token,
};

#[tokio::test]
async fn a_burst_over_the_limit_is_429_with_retry_after_and_other_users_are_unaffected() {
    let mut settings = settings();
    settings.rate_limit.per_second = NonZeroU32::new(1).unwrap();
    settings.rate_limit.burst = NonZeroU32::new(3).unwrap();
    let gateway = spawn_gateway(settings).await;
    let alice = token("alice", "customer");
    let get = |token: String| gateway.get("/mypage/orders").bearer(&token).send();

    for _ in 0..3 {
        let response = get(alice.clone()).await.unwrap();
        assert_ne!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    let limited = get(alice.clone()).await.unwrap();
    let bob = get(token("bob", "customer")).await.unwrap();

    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "Retry-After: {retry_after}");
    assert_problem(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_ne!(bob.status(), StatusCode::TOO_MANY_REQUESTS);
    gateway.stop().await;
}

#[tokio::test]
async fn callers_without_a_valid_token_are_limited_by_address() {
    let mut settings = settings();
    settings.rate_limit.per_second = NonZeroU32::new(1).unwrap();
    settings.rate_limit.burst = NonZeroU32::new(2).unwrap();
    let gateway = spawn_gateway(settings).await;

    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(gateway.get("/orders").send().await.unwrap().status());
    }

    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    gateway.stop().await;
}

#[tokio::test]
async fn a_stopped_service_is_a_503_with_retry_after_in_under_a_second() {
    let gateway = spawn_gateway(settings()).await;

    let started = Instant::now();
    let response = gateway
        .get("/orders")
        .bearer(&token("alice", "customer"))
        .send()
        .await
        .unwrap();

    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "upstream_unavailable",
    )
    .await;
    gateway.stop().await;
}

#[tokio::test]
async fn a_slow_service_answers_503_when_the_routes_budget_runs_out_and_does_not_hold_up_other_calls()
 {
    let payment = Payment::spawn().await;
    let mut settings = settings();
    settings.upstreams.payment = payment.upstream(Duration::from_millis(500));
    let gateway = spawn_gateway(settings).await;
    let admin = token("ops", "admin");
    let faults = gateway
        .client
        .put(gateway.url("/admin/payment/faults"))
        .bearer(&admin)
        .json(&json!({ "delay": { "minMs": 2000, "maxMs": 2000 }, "failureRate": 0.0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(faults.status(), StatusCode::OK);
    let charge = || {
        gateway
            .post("/payments")
            .bearer(&admin)
            .json(&json!({ "orderId": Uuid::new_v4(), "customerId": "alice", "amount": 1000 }))
            .send()
    };

    let started = Instant::now();
    let slow = futures::future::join_all((0..10).map(|_| charge()));
    let read = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let read_started = Instant::now();
        let response = gateway
            .get(&format!("/payments?orderId={}", Uuid::new_v4()))
            .bearer(&token("alice", "customer"))
            .send()
            .await
            .unwrap();
        (response.status(), read_started.elapsed())
    };
    let (slow, (read_status, read_took)) = tokio::join!(slow, read);
    let elapsed = started.elapsed();

    assert_eq!(read_status, StatusCode::OK);
    assert!(
        read_took < Duration::from_millis(400),
        "a read took {read_took:?}"
    );
    // The service is told it has 400 ms (the route's 500 less the reply reserve) and answers
    // its own 503 then: busy is not hung, so no 504.
    assert!(elapsed >= Duration::from_millis(400), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1_500), "{elapsed:?}");
    for response in slow {
        let response = response.unwrap();
        assert!(response.headers().contains_key("retry-after"));
        assert_problem(
            response,
            StatusCode::SERVICE_UNAVAILABLE,
            "deadline_exceeded",
        )
        .await;
    }
    gateway.stop().await;
    payment.finish().await;
}

#[tokio::test]
async fn a_service_that_does_not_answer_at_all_is_a_504_at_the_routes_timeout() {
    // Accepts connections and reads, but never answers: hung, not busy.
    let hung = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = hung.local_addr().unwrap();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hung.accept().await {
            held.push(socket);
        }
    });
    let mut settings = settings();
    settings.upstreams.payment.base_url = format!("http://{address}");
    settings.upstreams.payment.timeout = Duration::from_millis(300);
    let gateway = spawn_gateway(settings).await;
    let started = Instant::now();

    let response = gateway
        .get("/payments?orderId=x")
        .bearer(&token("alice", "customer"))
        .send()
        .await
        .unwrap();

    let problem = assert_problem(response, StatusCode::GATEWAY_TIMEOUT, "upstream_timeout").await;
    assert!(problem["detail"].as_str().unwrap().contains("payment"));
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(started.elapsed() < Duration::from_millis(1_500));
    silent.abort();
    gateway.stop().await;
}

#[tokio::test]
async fn a_body_declared_over_the_limit_is_413() {
    let mut settings = settings();
    settings.max_body_bytes = 1024;
    let gateway = spawn_gateway(settings).await;

    let response = gateway
        .post("/orders")
        .bearer(&token("alice", "customer"))
        .header("content-type", "application/json")
        .body(vec![b' '; 2048])
        .send()
        .await
        .unwrap();

    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large").await;
    gateway.stop().await;
}

#[tokio::test]
async fn a_streamed_body_over_the_limit_is_413() {
    let mut settings = settings();
    settings.max_body_bytes = 1024;
    let (gateway, payment) = spawn_with_payment(settings).await;
    let chunks = (0..8).map(|_| Ok::<_, std::io::Error>(vec![b' '; 512]));

    let response = gateway
        .post("/payments")
        .bearer(&token("ops", "admin"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();

    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large").await;
    gateway.stop().await;
    payment.finish().await;
}

#[tokio::test]
async fn a_development_token_request_over_the_limit_is_413() {
    let mut settings = settings();
    settings.max_body_bytes = 64;
    let gateway = spawn_gateway(settings).await;

    let response = gateway
        .post("/auth/dev-token")
        .json(&json!({ "userId": "a".repeat(100), "role": "customer" }))
        .send()
        .await
        .unwrap();

    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large").await;
    gateway.stop().await;
}

/// A service that answers with the `x-request-budget-ms` it received.
async fn budget_echo() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/payments",
        axum::routing::get(|headers: axum::http::HeaderMap| async move {
            headers
                .get("x-request-budget-ms")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("none")
                .to_owned()
        }),
    );
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (address, server)
}

#[tokio::test]
async fn the_service_is_told_the_time_left_of_the_routes_budget_or_of_a_shorter_one_the_client_asked_for_and_too_little_is_refused_at_the_gateway()
 {
    let (address, server) = budget_echo().await;
    let mut settings = settings();
    settings.upstreams.payment.base_url = address;
    settings.upstreams.payment.timeout = Duration::from_millis(2_000);
    let gateway = spawn_gateway(settings).await;
    let budget = |asked: Option<&'static str>| {
        let mut request = gateway.get("/payments").bearer(&token("alice", "customer"));
        if let Some(asked) = asked {
            request = request.header("x-request-budget-ms", asked);
        }
        async move {
            let body = request.send().await.unwrap().text().await.unwrap();
            body.parse::<u64>().unwrap()
        }
    };

    // The route's 2 s, less the 100 ms the answer needs to come back, less the gateway's own time.
    let spent = gateway
        .get("/payments")
        .bearer(&token("alice", "customer"))
        .header("x-request-budget-ms", "100")
        .send()
        .await
        .unwrap();
    assert_problem(spent, StatusCode::SERVICE_UNAVAILABLE, "deadline_exceeded").await;
    let routes = budget(None).await;
    let asked = budget(Some("700")).await;
    let too_long = budget(Some("60000")).await;

    assert!((1_700..=1_900).contains(&routes), "{routes}");
    assert!((400..=600).contains(&asked), "{asked}");
    assert!((1_700..=1_900).contains(&too_long), "{too_long}");
    server.abort();
    gateway.stop().await;
}
