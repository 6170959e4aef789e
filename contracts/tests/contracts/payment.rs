//! Provider verification of the order → payment call: each interaction the order service's
//! payment client relies on (`order_service::payments::contract`) replayed against the real
//! payment service, in-process on its own database, configured as the contract says.

use order_service::payments::contract::{self, DECLINE_ABOVE, INTERACTIONS, PATH};
use order_service::payments::{ChargeRequest, HttpPayments, PaymentPort};
use payment_service::Settings;
use payment_service::faults::FaultSettings;
use serde_json::Value;
use shared_events::contract::unmet;
use test_stack::{RunningApp, TestDatabase};

async fn payment_service() -> (RunningApp, TestDatabase) {
    let db = TestDatabase::create().await;
    let kafka = test_stack::kafka("payment").await;
    let settings = Settings {
        service: test_stack::service_settings(&db, &kafka),
        decline_above: DECLINE_ABOVE,
        faults: FaultSettings::default(),
    };
    let app = RunningApp::start(payment_service::build(settings).await.unwrap()).await;
    (app, db)
}

/// Sends the contract's request for `charge`, as the client would.
async fn send(app: &RunningApp, charge: &ChargeRequest) -> (u16, Value) {
    let (headers, body) = contract::request(charge);
    let mut request = reqwest::Client::new().post(app.url(PATH)).json(&body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    for name in contract::VARYING_HEADERS {
        let example = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        request = request.header(*name, example);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_payment_service_answers_every_interaction_as_the_order_service_relies_on() {
    let (app, db) = payment_service().await;
    for interaction in INTERACTIONS {
        let (charge, before) = interaction.charge("alice");
        if let Some(before) = &before {
            send(&app, before).await;
        }

        let (status, answer) = send(&app, &charge).await;

        assert_eq!(status, interaction.status, "{}: {answer}", interaction.name);
        let unmet = unmet(&answer, interaction.reads);
        assert!(unmet.is_empty(), "{}: {unmet:?}", interaction.name);
    }
    app.stop().await;
    db.drop().await;
}

#[tokio::test]
async fn the_real_client_gets_from_the_real_service_what_the_contract_says() {
    let (app, db) = payment_service().await;
    let client = HttpPayments::new(&app.url("")).unwrap();
    for interaction in INTERACTIONS {
        let (charge, before) = interaction.charge("alice");
        if let Some(before) = &before {
            client.charge(before).await.unwrap();
        }

        let outcome = client.charge(&charge).await.unwrap();

        let (_, answer) = send(&app, &charge).await;
        assert!(
            interaction.expected.matches(&outcome, &answer),
            "{}: {outcome:?} for {answer}",
            interaction.name
        );
    }
    app.stop().await;
    db.drop().await;
}
