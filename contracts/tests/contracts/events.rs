//! Consumer-driven contracts of the events: every producer's real events (see `producers`)
//! against the committed AsyncAPI document, and against what every consumer says it relies on.
//! A producer that stops writing a field a consumer reads fails here, whoever's code changed.

use std::collections::BTreeSet;

use backbone::EventHandler;
use contracts::asyncapi::{self, message_name};
use serde_json::Value;
use shared_events::contract::{ENVELOPE, Reliance, unmet};
use shared_events::{Envelope, Event};

use crate::producers::produced;

/// A consuming service: what it says it relies on, and which events its handlers take.
struct Consumer {
    name: &'static str,
    relies_on: &'static [Reliance],
    accepts: Box<dyn Fn(&Event) -> bool>,
}

fn consumers() -> Vec<Consumer> {
    use notification_service::domain::Locale;
    vec![
        Consumer {
            name: "order",
            relies_on: order_service::events::RELIES_ON,
            accepts: Box::new(|e| {
                order_service::events::MenuReplica.accepts(e)
                    || order_service::events::OrderProgress.accepts(e)
            }),
        },
        Consumer {
            name: "payment",
            relies_on: payment_service::events::RELIES_ON,
            accepts: Box::new(|e| payment_service::events::Settlements.accepts(e)),
        },
        Consumer {
            name: "store",
            relies_on: store_service::events::RELIES_ON,
            accepts: Box::new(|e| {
                store_service::events::StoreOrders.accepts(e)
                    || store_service::events::Ratings.accepts(e)
            }),
        },
        Consumer {
            name: "delivery",
            relies_on: delivery_service::events::RELIES_ON,
            accepts: Box::new(|e| delivery_service::events::Deliveries.accepts(e)),
        },
        Consumer {
            name: "notification",
            relies_on: notification_service::events::RELIES_ON,
            accepts: Box::new(|e| {
                let notifier = notification_service::events::Notifier {
                    locale: Locale::En,
                    channel: "log",
                };
                notifier.accepts(e)
            }),
        },
        Consumer {
            name: "review",
            relies_on: review_service::events::RELIES_ON,
            accepts: Box::new(|e| review_service::events::Facts.accepts(e)),
        },
        Consumer {
            name: "mypage",
            relies_on: mypage_service::events::RELIES_ON,
            // The projection folds every event of an order into its view.
            accepts: Box::new(|e| e.order_id().is_some()),
        },
        Consumer {
            name: "mypage.ratings",
            relies_on: mypage_service::events::RATINGS_RELY_ON,
            accepts: Box::new(|e| matches!(e, Event::StoreRatingChanged(_))),
        },
    ]
}

#[test]
fn the_producers_make_every_event_type() {
    let made: BTreeSet<&str> = produced().iter().map(Envelope::type_name).collect();
    let known: BTreeSet<&str> = Event::TYPES.iter().copied().collect();
    assert_eq!(made, known, "add the missing ones to `producers`");
}

/// What is wrong with `json` as the payload of message `name` of the document. (Validated as
/// JSON Schema 2020-12, a superset of the document's draft 7 for these schemas that also checks
/// the `uuid` format.)
fn invalid(doc: &Value, name: &str, json: &Value) -> Vec<String> {
    let mut schema = doc.clone();
    schema["$ref"] = Value::String(format!("#/components/messages/{name}/payload"));
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    validator
        .iter_errors(json)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

#[test]
fn every_event_produced_is_valid_against_its_message_in_the_document() {
    let doc = asyncapi::document();
    for envelope in produced() {
        let name = message_name(envelope.type_name(), envelope.version);
        let errors = invalid(&doc, &name, &envelope.to_json());
        assert!(
            errors.is_empty(),
            "{name} from {}: {errors:?}",
            envelope.source
        );
    }
}

#[test]
fn an_event_unlike_its_message_is_invalid() {
    let doc = asyncapi::document();
    let placed = produced()
        .into_iter()
        .find(|e| e.type_name() == "OrderPlaced")
        .unwrap();
    let mut json = placed.to_json();
    json["data"]["items"][0]["quantity"] = Value::from("two");
    json["data"]["storeId"] = Value::from("store-1");
    json["source"] = Value::from("store");
    let errors = invalid(&doc, "OrderPlaced.v1", &json);
    assert_eq!(errors.len(), 3, "{errors:#?}");
}

#[test]
fn every_consumer_finds_what_it_relies_on_in_every_event_produced() {
    let produced = produced();
    let mut unmet_by = Vec::new();
    for consumer in consumers() {
        for reliance in consumer.relies_on {
            let events: Vec<&Envelope> = produced
                .iter()
                .filter(|e| e.type_name() == reliance.event)
                .collect();
            assert!(
                !events.is_empty(),
                "{} relies on {}, which no producer makes",
                consumer.name,
                reliance.event
            );
            for envelope in events {
                let json = envelope.to_json();
                for problem in unmet(&json, ENVELOPE)
                    .into_iter()
                    .chain(unmet(&json, reliance.fields))
                {
                    unmet_by.push(format!(
                        "{} reads {} from {}: {problem}",
                        consumer.name, reliance.event, envelope.source
                    ));
                }
            }
        }
    }
    assert!(unmet_by.is_empty(), "{unmet_by:#?}");
}

#[test]
fn every_consumer_states_what_it_relies_on_in_each_event_it_handles_and_no_other() {
    let produced = produced();
    for consumer in consumers() {
        let handled: BTreeSet<&str> = produced
            .iter()
            .filter(|e| (consumer.accepts)(&e.event))
            .map(Envelope::type_name)
            .collect();
        let stated: BTreeSet<&str> = consumer.relies_on.iter().map(|r| r.event).collect();
        // mypage folds every order event into its view, reading only some of them.
        if consumer.name == "mypage" {
            assert!(stated.is_subset(&handled), "mypage: {stated:?}");
            continue;
        }
        assert_eq!(handled, stated, "{}: handled vs stated", consumer.name);
    }
}

#[test]
fn a_producer_that_drops_a_field_a_consumer_reads_fails_the_check() {
    let placed = produced()
        .into_iter()
        .find(|e| e.type_name() == "OrderPlaced")
        .unwrap();
    let mut json = placed.to_json();
    json["data"].as_object_mut().unwrap().remove("totalPrice");
    let readers: Vec<&str> = consumers()
        .iter()
        .filter(|c| {
            c.relies_on
                .iter()
                .any(|r| r.event == "OrderPlaced" && !unmet(&json, r.fields).is_empty())
        })
        .map(|c| c.name)
        .collect();
    assert_eq!(readers, ["store", "notification", "mypage"]);
}
