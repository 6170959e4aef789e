//! The client and its resilience policy's retries and deadlines against a stand-in payment
//! service that answers from a script and counts what it receives.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use service_runtime::admission::REFUSED_HEADER;
use uuid::Uuid;

use super::*;
use crate::payments::{BreakerSettings, Resilient};

/// A stand-in that gives the scripted answers in turn (the last one from then on), and keeps
/// the headers of every request it received.
async fn stand_in(script: Vec<Answer>) -> (String, Arc<Mutex<Vec<HeaderMap>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let seen = received.clone();
    let app = Router::new().fallback(move |headers: HeaderMap| async move {
        let n = {
            let mut seen = seen.lock().unwrap();
            seen.push(headers);
            seen.len()
        };
        script[(n - 1).min(script.len() - 1)].respond().await
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[derive(Clone, Copy)]
enum Answer {
    Approved,
    /// Approved, this many milliseconds after the request arrived.
    Late(u64),
    /// Refused by payment's admission control, with this reason.
    Refused(&'static str),
    /// A 503 of payment's own (its database, say): it may have done part of the work.
    Unavailable,
    /// A 400: the request was ours to get right.
    BadRequest,
}

impl Answer {
    async fn respond(self) -> Response {
        match self {
            Answer::Late(ms) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Box::pin(Answer::Approved.respond()).await
            }
            Answer::Approved => (
                StatusCode::CREATED,
                axum::Json(json!({ "id": Uuid::now_v7(), "status": "Approved" })),
            )
                .into_response(),
            Answer::Refused(reason) => {
                let mut response = StatusCode::SERVICE_UNAVAILABLE.into_response();
                response
                    .headers_mut()
                    .insert(REFUSED_HEADER, HeaderValue::from_static(reason));
                response
            }
            Answer::Unavailable => StatusCode::SERVICE_UNAVAILABLE.into_response(),
            Answer::BadRequest => StatusCode::BAD_REQUEST.into_response(),
        }
    }
}

fn charge() -> ChargeRequest {
    ChargeRequest {
        order_id: Uuid::now_v7(),
        customer_id: "alice".to_owned(),
        amount: 1000,
        change_id: None,
    }
}

/// The production policy, whose breaker never opens in these tests.
fn policy(url: &str) -> Resilient<HttpPayments> {
    let settings = BreakerSettings {
        min_calls: 1_000,
        ..BreakerSettings::default()
    };
    Resilient::new(HttpPayments::new(url).unwrap(), settings)
}

#[tokio::test]
async fn a_charge_refused_at_payments_door_is_made_once_more() {
    let (url, received) = stand_in(vec![Answer::Refused("busy"), Answer::Approved]).await;

    let outcome = policy(&url).charge(&charge()).await;

    assert!(
        matches!(outcome, Ok(PaymentOutcome::Approved { .. })),
        "{outcome:?}"
    );
    assert_eq!(received.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_charge_is_retried_once_at_most() {
    let (url, received) = stand_in(vec![Answer::Refused("busy")]).await;

    let outcome = policy(&url).charge(&charge()).await;

    assert_eq!(outcome, Err(PaymentError::Upstream(503)));
    assert_eq!(received.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_charge_payment_may_have_begun_is_asked_again_and_the_repeat_is_answered() {
    // Payment's own 503 (cut off at its deadline, say), and an answer later than the timeout:
    // the charge may have been made, and asking again finds it.
    for first in [Answer::Unavailable, Answer::Late(800)] {
        let (url, received) = stand_in(vec![first, Answer::Approved]).await;
        let settings = BreakerSettings {
            timeout: Duration::from_millis(300),
            min_calls: 1_000,
            ..BreakerSettings::default()
        };
        let payments = Resilient::new(HttpPayments::new(&url).unwrap(), settings);

        let outcome = payments.charge(&charge()).await;

        assert!(
            matches!(outcome, Ok(PaymentOutcome::Approved { .. })),
            "{outcome:?}"
        );
        assert_eq!(received.lock().unwrap().len(), 2);
    }
}

#[tokio::test]
async fn what_payment_had_no_time_for_or_refused_as_ours_is_not_retried() {
    for (answer, expected) in [
        (Answer::Refused("deadline"), PaymentError::DeadlineExceeded),
        (Answer::BadRequest, PaymentError::Upstream(400)),
    ] {
        let (url, received) = stand_in(vec![answer, Answer::Approved]).await;

        let outcome = policy(&url).charge(&charge()).await;

        assert_eq!(outcome, Err(expected.clone()));
        assert_eq!(received.lock().unwrap().len(), 1, "{expected:?}");
    }
    assert!(
        !PaymentError::DeadlineExceeded.is_failure(),
        "not payment's fault"
    );
}

#[tokio::test]
async fn one_attempt_retries_nothing() {
    let (url, received) = stand_in(vec![Answer::Refused("busy"), Answer::Approved]).await;
    let settings = BreakerSettings {
        max_attempts: 1,
        ..BreakerSettings::default()
    };

    let outcome = Resilient::new(HttpPayments::new(&url).unwrap(), settings)
        .charge(&charge())
        .await;

    assert_eq!(outcome, Err(PaymentError::Upstream(503)));
    assert_eq!(received.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn retries_stay_within_a_tenth_of_the_calls() {
    let (url, received) = stand_in(vec![Answer::Refused("busy")]).await;
    let payments = policy(&url);

    for _ in 0..50 {
        let _ = payments.charge(&charge()).await;
    }

    // 50 calls, and retries from a budget that starts at 10 and earns a tenth per call.
    let requests = received.lock().unwrap().len();
    assert!(
        (60..=65).contains(&requests),
        "{requests} requests for 50 calls"
    );
}

#[tokio::test]
async fn an_open_breaker_stops_the_retries() {
    let (url, received) = stand_in(vec![Answer::Unavailable]).await;
    let settings = BreakerSettings {
        min_calls: 1,
        ..BreakerSettings::default()
    };
    let payments = Resilient::new(HttpPayments::new(&url).unwrap(), settings);

    let outcome = payments.charge(&charge()).await;

    // The first try's failure opened the breaker: no second try.
    assert_eq!(outcome, Err(PaymentError::Upstream(503)));
    assert_eq!(received.lock().unwrap().len(), 1);
    assert_eq!(
        payments.charge(&charge()).await,
        Err(PaymentError::BreakerOpen)
    );
}

#[tokio::test]
async fn payment_is_told_the_time_the_call_has_left() {
    let (url, received) = stand_in(vec![Answer::Approved]).await;
    let payments = policy(&url);
    let budget = |received: &Arc<Mutex<Vec<HeaderMap>>>| -> u64 {
        let received = received.lock().unwrap();
        let headers = received.last().unwrap();
        headers[deadline::HEADER].to_str().unwrap().parse().unwrap()
    };

    // The call's own timeout (610 ms), less the time the answer needs to come back.
    payments.charge(&charge()).await.unwrap();
    let own = budget(&received);
    assert!((500..=600).contains(&own), "{own}");

    // Less when the request the call serves has less.
    Deadline::after(Duration::from_millis(300))
        .scope(payments.charge(&charge()))
        .await
        .unwrap();
    let request = budget(&received);
    assert!((200..=290).contains(&request), "{request}");
}
