use serde_json::{Value, json};

use super::*;

/// A document of one `OrderPlaced.v1` message on the order topic, its payload's `data` being
/// `data` and the named `schemas` shared.
fn document(data: Value, schemas: Value) -> Value {
    document_of(
        vec![("OrderPlaced", 1, "fooddelivery.order", data)],
        schemas,
    )
}

fn document_of(messages: Vec<(&str, u16, &str, Value)>, schemas: Value) -> Value {
    let mut channels = Map::new();
    let mut components = Map::new();
    for (name, version, topic, data) in messages {
        let id = format!("{name}.v{version}");
        let channel = channels
            .entry(topic.to_owned())
            .or_insert_with(|| json!({ "address": topic, "messages": {} }));
        channel["messages"][&id] = json!({ "$ref": format!("#/components/messages/{id}") });
        components.insert(
            id,
            json!({
                "name": name,
                "headers": { "type": "object", "properties": { "id": { "type": "string" } }, "required": ["id"] },
                "payload": {
                    "type": "object",
                    "properties": { "version": { "const": version }, "data": data },
                    "required": ["version", "data"],
                },
                "bindings": { "kafka": { "key": { "type": "string", "format": "uuid" } } },
            }),
        );
    }
    json!({ "channels": channels, "components": { "messages": components, "schemas": schemas } })
}

fn placed(properties: Value, required: &[&str]) -> Value {
    json!({ "type": "object", "properties": properties, "required": required })
}

fn base() -> Value {
    document(
        placed(
            json!({
                "orderId": { "type": "string", "format": "uuid" },
                "totalPrice": { "type": "integer", "format": "int64" },
                "reason": { "$ref": "#/components/schemas/CancelReason" },
                "items": { "type": "array", "items": { "$ref": "#/components/schemas/OrderLine" } },
            }),
            &["orderId", "totalPrice", "reason", "items"],
        ),
        json!({
            "CancelReason": { "oneOf": [
                { "type": "string", "const": "customer", "description": "The customer canceled it." },
                { "type": "string", "const": "store_rejected" },
            ]},
            "OrderLine": placed(json!({ "quantity": { "type": "integer", "format": "uint32", "minimum": 0 } }), &["quantity"]),
        }),
    )
}

/// `base()` with `edit` applied to it.
fn changed(edit: impl FnOnce(&mut Value)) -> Value {
    let mut doc = base();
    edit(&mut doc);
    doc
}

fn data(doc: &mut Value) -> &mut Value {
    &mut doc["components"]["messages"]["OrderPlaced.v1"]["payload"]["properties"]["data"]
}

fn changes(current: &Value) -> Vec<String> {
    breaking_changes(&base(), current)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn the_same_document_is_compatible() {
    assert_eq!(changes(&base()), Vec::<String>::new());
}

#[test]
fn descriptions_and_new_optional_fields_are_compatible() {
    let current = changed(|doc| {
        doc["components"]["schemas"]["CancelReason"]["oneOf"][0]["description"] = json!("reworded");
        data(doc)["properties"]["note"] = json!({ "type": "string" });
        data(doc)["description"] = json!("A paid order.");
    });
    assert_eq!(changes(&current), Vec::<String>::new());
}

#[test]
fn a_removed_or_renamed_field_is_breaking() {
    let current = changed(|doc| {
        let total = data(doc)["properties"]["totalPrice"].take();
        data(doc)["properties"]
            .as_object_mut()
            .unwrap()
            .remove("totalPrice");
        data(doc)["properties"]["total"] = total;
        data(doc)["required"] = json!(["orderId", "total", "reason", "items"]);
    });
    assert_eq!(
        changes(&current),
        [
            "OrderPlaced.v1 payload.data.total: new required field, which messages written before lack",
            "OrderPlaced.v1 payload.data.totalPrice: field removed (or renamed)",
        ]
    );
}

#[test]
fn a_new_required_field_is_breaking() {
    let current = changed(|doc| {
        data(doc)["properties"]["tip"] = json!({ "type": "integer" });
        data(doc)["required"]
            .as_array_mut()
            .unwrap()
            .push(json!("tip"));
    });
    assert_eq!(
        changes(&current),
        ["OrderPlaced.v1 payload.data.tip: new required field, which messages written before lack"]
    );
}

#[test]
fn a_field_that_becomes_optional_or_required_is_breaking() {
    let current = changed(|doc| data(doc)["required"] = json!(["orderId", "reason", "items"]));
    assert_eq!(
        changes(&current),
        [
            "OrderPlaced.v1 payload.data.totalPrice: became optional, but consumers built before rely on it"
        ]
    );
}

#[test]
fn a_changed_or_narrowed_type_is_breaking_even_behind_a_reference() {
    let current = changed(|doc| {
        data(doc)["properties"]["orderId"] = json!({ "type": "string" });
        doc["components"]["schemas"]["OrderLine"]["properties"]["quantity"] =
            json!({ "type": "integer", "format": "uint8", "minimum": 0, "maximum": 255 });
        data(doc)["properties"]["totalPrice"] = json!({ "type": "number" });
    });
    assert_eq!(
        changes(&current),
        [
            "OrderPlaced.v1 payload.data.items[].quantity: `format` changed from \"uint32\" to \"uint8\"",
            "OrderPlaced.v1 payload.data.items[].quantity: `maximum` changed from nothing to 255",
            "OrderPlaced.v1 payload.data.orderId: `format` changed from \"uuid\" to nothing",
            "OrderPlaced.v1 payload.data.totalPrice: type changed from {\"integer\"} to {\"number\"}",
        ]
    );
}

#[test]
fn an_enumerated_value_removed_or_added_is_breaking() {
    let current = changed(|doc| {
        doc["components"]["schemas"]["CancelReason"]["oneOf"][1] =
            json!({ "type": "string", "const": "payment_failed" });
    });
    assert_eq!(
        changes(&current),
        [
            "OrderPlaced.v1 payload.data.reason: no longer allows \"store_rejected\", which messages written before may hold",
            "OrderPlaced.v1 payload.data.reason: now allows \"payment_failed\", which consumers built before cannot read",
        ]
    );
}

#[test]
fn a_removed_event_type_is_breaking() {
    let current = document_of(vec![], json!({}));
    assert_eq!(
        changes(&current),
        ["OrderPlaced.v1: the event type OrderPlaced was removed"]
    );
}

#[test]
fn a_new_version_beside_the_old_one_is_compatible() {
    let mut old = base();
    let v1 =
        old["components"]["messages"]["OrderPlaced.v1"]["payload"]["properties"]["data"].take();
    let old = document(v1.clone(), base()["components"]["schemas"].clone());
    let v2 = placed(json!({ "orderId": { "type": "string" } }), &["orderId"]);
    let current = document_of(
        vec![
            ("OrderPlaced", 1, "fooddelivery.order", v1),
            ("OrderPlaced", 2, "fooddelivery.order", v2),
        ],
        base()["components"]["schemas"].clone(),
    );
    assert_eq!(breaking_changes(&old, &current), []);
}

#[test]
fn a_new_version_that_drops_the_old_one_is_breaking() {
    let v2 = placed(json!({ "orderId": { "type": "string" } }), &["orderId"]);
    let current = document_of(
        vec![("OrderPlaced", 2, "fooddelivery.order", v2)],
        json!({}),
    );
    let found = changes(&current);
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("OrderPlaced.v1: this version of OrderPlaced is no longer read"),
        "{found:?}"
    );
}

#[test]
fn a_message_moved_to_another_topic_or_key_is_breaking() {
    let mut current = changed(|doc| {
        doc["components"]["messages"]["OrderPlaced.v1"]["bindings"]["kafka"]["key"] =
            json!({ "type": "string", "description": "the store id" });
    });
    let channel = current["channels"]["fooddelivery.order"].take();
    current["channels"]["fooddelivery.store"] = channel;
    current["channels"]["fooddelivery.store"]["address"] = json!("fooddelivery.store");
    assert_eq!(
        changes(&current),
        [
            "OrderPlaced.v1: moved from topics {\"fooddelivery.order\"} to {\"fooddelivery.store\"}",
            "OrderPlaced.v1 key: the message key changed",
        ]
    );
}

#[test]
fn a_removed_header_is_breaking() {
    let current = changed(|doc| {
        doc["components"]["messages"]["OrderPlaced.v1"]["headers"]["properties"] = json!({});
    });
    assert_eq!(
        changes(&current),
        ["OrderPlaced.v1 headers.id: field removed (or renamed)"]
    );
}
