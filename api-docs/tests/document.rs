//! The committed API document is what the code generates, and it covers the public contract.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use serde_json::Value;

fn generated() -> Value {
    serde_json::from_str(&api_docs::pretty_json().unwrap()).unwrap()
}

/// (method, path) of every operation in the generated document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            found.insert((method.to_uppercase(), path.clone()));
        }
    }
    found
}

#[test]
fn the_committed_document_is_what_the_code_generates() {
    test_stack::assert_committed(
        "docs/openapi.json",
        &api_docs::pretty_json().unwrap(),
        "cargo run -p api-docs > docs/openapi.json",
    );
}

#[test]
fn every_route_of_the_public_contract_is_documented() {
    // The routes of the REST contract through the gateway, by hand: a route that disappears
    // from the code, or was never annotated, fails here.
    let contract = [
        ("POST", "/auth/dev-token"),
        ("POST", "/stores"),
        ("GET", "/stores"),
        ("GET", "/stores/{storeId}"),
        ("POST", "/stores/{storeId}/menu"),
        ("GET", "/stores/{storeId}/menu"),
        ("PATCH", "/stores/{storeId}/menu/{menuItemId}"),
        ("DELETE", "/stores/{storeId}/menu/{menuItemId}"),
        ("GET", "/store-orders"),
        ("POST", "/store-orders/{orderId}/accept"),
        ("POST", "/store-orders/{orderId}/reject"),
        ("POST", "/store-orders/{orderId}/start-cooking"),
        ("POST", "/store-orders/{orderId}/finish-cooking"),
        ("POST", "/orders"),
        ("GET", "/orders"),
        ("GET", "/orders/{orderId}"),
        ("POST", "/orders/{orderId}/cancel"),
        ("GET", "/payments"),
        ("GET", "/admin/payment/faults"),
        ("PUT", "/admin/payment/faults"),
        ("GET", "/deliveries"),
        ("POST", "/deliveries/{deliveryId}/complete"),
        ("POST", "/deliveries/{deliveryId}/accident"),
        ("GET", "/notifications"),
        ("GET", "/mypage/orders"),
        ("GET", "/mypage/orders/{orderId}"),
        ("GET", "/mypage/popular-menus"),
        ("GET", "/reviews"),
        ("POST", "/reviews"),
        ("PUT", "/reviews/{reviewId}"),
        ("PUT", "/reviews/{reviewId}/reply"),
        ("GET", "/health/live"),
        ("GET", "/health/ready"),
        ("GET", "/openapi.json"),
        ("GET", "/live/orders/{orderId}"),
        ("GET", "/ops/services"),
    ];
    let documented = operations(&generated());
    let missing: Vec<_> = contract
        .iter()
        .filter(|(method, path)| !documented.contains(&(method.to_string(), path.to_string())))
        .collect();
    assert!(missing.is_empty(), "not in the document: {missing:?}");
}

#[test]
fn internal_and_service_side_paths_are_not_published() {
    let documented = operations(&generated());

    assert!(!documented.contains(&("POST".to_owned(), "/payments".to_owned())));
    assert!(
        documented
            .iter()
            .all(|(_, path)| !path.starts_with("/admin/faults")),
        "admin paths appear as the services serve them, not as the gateway routes them"
    );
}

#[test]
fn operation_ids_are_unique() {
    let doc = generated();
    let mut seen = BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            let id = operation["operationId"].as_str().unwrap().to_owned();
            assert!(seen.insert(id.clone()), "operationId {id} appears twice");
        }
    }
}

#[test]
fn a_token_is_required_except_for_the_gateways_own_routes() {
    let doc = generated();
    assert_eq!(doc["security"], serde_json::json!([{ "bearerAuth": [] }]));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"]["scheme"],
        "bearer"
    );
    let open = [
        "/auth/dev-token",
        "/health/live",
        "/health/ready",
        "/openapi.json",
    ];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for operation in item.as_object().unwrap().values() {
            if open.contains(&path.as_str()) {
                assert_eq!(operation["security"], serde_json::json!([{}]), "{path}");
            } else {
                assert!(operation.get("security").is_none(), "{path}");
                assert!(operation["responses"].get("401").is_some(), "{path}");
            }
        }
    }
}

#[test]
fn every_error_response_is_a_problem() {
    let doc = generated();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for operation in item.as_object().unwrap().values() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                if !status.starts_with('4') || response.get("$ref").is_some() {
                    continue;
                }
                assert_eq!(
                    response["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{status} of {path}"
                );
            }
        }
    }
}

/// Every pattern of the document that lets any text through but white space and U+0000.
fn blank_refusing_patterns(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            if let Some(Value::String(pattern)) = fields.get("pattern")
                && pattern.starts_with(r"^[^\u0000]*[^")
            {
                found.push(pattern.clone());
            }
            fields
                .values()
                .for_each(|v| blank_refusing_patterns(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| blank_refusing_patterns(v, found)),
        _ => {}
    }
}

#[test]
fn every_free_text_says_white_space_as_the_code_trims_it() {
    // The services trim what `shared_events::text` calls white space: a pattern with other
    // white space (`\s`, which each pattern engine reads its own way) would let a generated
    // text through that the code refuses, or the other way round.
    let mut found = Vec::new();
    blank_refusing_patterns(&generated(), &mut found);
    assert!(found.len() >= 10, "the document's free texts: {found:?}");
    for pattern in found {
        assert_eq!(pattern, shared_events::text::NOT_BLANK);
    }
}
