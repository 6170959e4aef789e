//! The client against the contract: a stand-in payment service answers each interaction with
//! only the fields the client says it reads, and records what the client sent.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::{Map, Value};
use shared_events::contract::unmet;
use uuid::Uuid;

use super::*;
use crate::payments::{HttpPayments, PaymentPort};

#[derive(Debug, Default)]
struct Recorded {
    method: Option<Method>,
    path: String,
    headers: HeaderMap,
    body: Value,
}

/// The least answer that has `reads`: every other field is one the client must not need.
fn least_answer(reads: &[&str]) -> Value {
    let mut answer = Map::new();
    for field in reads {
        let (name, value) = match field.split_once(" = ") {
            Some((name, literal)) => (name, Value::from(literal)),
            None => {
                let (name, kind) = field.split_once(':').unwrap();
                let value = match kind.trim() {
                    "uuid" => Value::from(Uuid::now_v7().to_string()),
                    "integer" => Value::from(1),
                    other => panic!("no example of {other}"),
                };
                (name, value)
            }
        };
        answer.insert(name.to_owned(), value);
    }
    Value::Object(answer)
}

/// Serves `interaction`'s answer on a free port; what it received goes to the returned slot.
async fn stand_in(interaction: &Interaction, answer: Value) -> (String, Arc<Mutex<Recorded>>) {
    let recorded = Arc::new(Mutex::new(Recorded::default()));
    let status = StatusCode::from_u16(interaction.status).unwrap();
    let slot = recorded.clone();
    let app = Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| async move {
            *slot.lock().unwrap() = Recorded {
                method: Some(method),
                path: uri.path().to_owned(),
                headers,
                body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            };
            (status, axum::Json(answer)).into_response()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, recorded)
}

#[tokio::test]
async fn the_client_sends_the_contracts_request_and_understands_each_answer() {
    for interaction in INTERACTIONS {
        let answer = least_answer(interaction.reads);
        assert_eq!(unmet(&answer, interaction.reads), Vec::<String>::new());
        let (url, recorded) = stand_in(interaction, answer.clone()).await;
        let (charge, _) = interaction.charge("alice");

        let outcome = HttpPayments::new(&url).unwrap().charge(&charge).await;

        let outcome = outcome.unwrap_or_else(|e| panic!("{}: {e}", interaction.name));
        assert!(
            interaction.expected.matches(&outcome, &answer),
            "{}: {outcome:?}",
            interaction.name
        );
        let recorded = recorded.lock().unwrap();
        let (headers, body) = request(&charge);
        assert_eq!(recorded.method, Some(Method::POST));
        assert_eq!(recorded.path, PATH);
        assert_eq!(recorded.body, body, "{}: the body", interaction.name);
        for (name, value) in headers {
            assert_eq!(recorded.headers[name], value.as_str(), "{name}");
        }
        for name in VARYING_HEADERS {
            assert!(recorded.headers.contains_key(*name), "{name}");
        }
    }
}

#[tokio::test]
async fn an_approval_without_what_the_client_reads_is_no_approval() {
    let interaction = &INTERACTIONS[0];
    let (url, _) = stand_in(interaction, serde_json::json!({ "status": "Approved" })).await;
    let (charge, _) = interaction.charge("alice");
    assert!(
        HttpPayments::new(&url)
            .unwrap()
            .charge(&charge)
            .await
            .is_err()
    );
}
