//! The committed AsyncAPI document is what the code generates, and it is a whole one.

use std::collections::BTreeSet;

use contracts::asyncapi::{self, COMMITTED_PATH};
use serde_json::Value;
use shared_events::{Event, Topic};

#[test]
fn the_committed_document_is_what_the_code_generates() {
    let generated = asyncapi::pretty_json().unwrap();
    // `UPDATE_CONTRACTS=1` rewrites it instead.
    if std::env::var_os("UPDATE_CONTRACTS").is_some() {
        let path = format!("{}/../{COMMITTED_PATH}", env!("CARGO_MANIFEST_DIR"));
        std::fs::write(path, &generated).unwrap();
        return;
    }
    test_stack::assert_committed(
        COMMITTED_PATH,
        &generated,
        &format!(
            "cargo run -p contracts --bin asyncapi > {COMMITTED_PATH}\n\n\
             (or UPDATE_CONTRACTS=1 cargo test -p contracts --test contracts document)"
        ),
    );
}

#[test]
fn every_event_type_is_a_message_on_its_topic() {
    let doc = asyncapi::document();
    let mut listed = BTreeSet::new();
    for topic in Topic::ALL {
        let channel = &doc["channels"][asyncapi::channel_id(topic)];
        assert_eq!(channel["address"], topic.base_name());
        for reference in channel["messages"].as_object().unwrap().values() {
            let target = reference["$ref"].as_str().unwrap();
            let name = target.strip_prefix("#/components/messages/").unwrap();
            let message = &doc["components"]["messages"][name];
            assert!(message.is_object(), "{target} resolves");
            listed.insert(message["name"].as_str().unwrap().to_owned());
        }
    }
    let mut expected: BTreeSet<String> = Event::TYPES.iter().map(|t| t.to_string()).collect();
    expected.insert("DeadLetter".to_owned());
    assert_eq!(listed, expected);
}

#[test]
fn every_reference_resolves() {
    let doc = asyncapi::document();
    let mut references = Vec::new();
    collect_refs(&doc, &mut references);
    assert!(!references.is_empty());
    for reference in references {
        let pointer = reference.strip_prefix('#').unwrap();
        assert!(
            doc.pointer(pointer).is_some(),
            "{reference} does not resolve"
        );
    }
}

fn collect_refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(target)) => found.push(target.clone()),
                    _ => collect_refs(value, found),
                }
            }
        }
        Value::Array(values) => values.iter().for_each(|v| collect_refs(v, found)),
        _ => {}
    }
}
