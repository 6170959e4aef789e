//! The client's retries and deadlines against a stand-in payment service that answers from a
//! script and counts what it receives.

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
        script[(n - 1).min(script.len() - 1)].respond()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[derive(Clone, Copy)]
enum Answer {
    Approved,
    /// Refused by payment's admission control, with this reason.
    Refused(&'static str),
    /// A 503 of payment's own (its database, say): it may have done part of the work.
    Unavailable,
}

impl Answer {
    fn respond(self) -> Response {
        match self {
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

#[tokio::test]
async fn a_charge_refused_at_payments_door_is_made_once_more() {
    let (url, received) = stand_in(vec![Answer::Refused("busy"), Answer::Approved]).await;

    let outcome = HttpPayments::new(&url).unwrap().charge(&charge()).await;

    assert!(
        matches!(outcome, Ok(PaymentOutcome::Approved { .. })),
        "{outcome:?}"
    );
    assert_eq!(received.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_charge_is_retried_once_at_most() {
    let (url, received) = stand_in(vec![Answer::Refused("busy")]).await;

    let outcome = HttpPayments::new(&url).unwrap().charge(&charge()).await;

    assert_eq!(outcome, Err(PaymentError::Upstream(503)));
    assert_eq!(received.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn what_payment_may_have_begun_or_had_no_time_for_is_not_retried() {
    for (answer, expected) in [
        (Answer::Unavailable, PaymentError::Upstream(503)),
        (Answer::Refused("deadline"), PaymentError::DeadlineExceeded),
    ] {
        let (url, received) = stand_in(vec![answer, Answer::Approved]).await;

        let outcome = HttpPayments::new(&url).unwrap().charge(&charge()).await;

        assert_eq!(outcome, Err(expected.clone()));
        assert_eq!(received.lock().unwrap().len(), 1, "{expected:?}");
    }
    assert!(
        !PaymentError::DeadlineExceeded.is_failure(),
        "not payment's fault"
    );
}

#[tokio::test]
async fn retries_stay_within_a_tenth_of_the_calls() {
    let (url, received) = stand_in(vec![Answer::Refused("busy")]).await;
    let payments = HttpPayments::new(&url).unwrap();

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
async fn payment_is_told_the_time_the_call_has_left() {
    let (url, received) = stand_in(vec![Answer::Approved]).await;
    let payments = Resilient::new(HttpPayments::new(&url).unwrap(), BreakerSettings::default());
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
