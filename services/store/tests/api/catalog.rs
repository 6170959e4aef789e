use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_stack::AsUser;
use uuid::Uuid;

use crate::helpers::{OWNER, spawn_app, types};

#[tokio::test]
async fn an_owner_opens_a_store_and_anyone_signed_in_reads_it_and_its_menu() {
    let app = spawn_app().await;

    let store = app.open_store(OWNER, "  Chicken House ").await;
    let id = store["id"].as_str().unwrap();
    app.add_item(
        OWNER,
        id.parse().unwrap(),
        json!({ "name": "Fried chicken", "price": 18000 }),
    )
    .await;

    assert_eq!(store["name"], "Chicken House");
    assert_eq!(store["ownerId"], OWNER);
    assert!(store["createdAt"].is_string());
    let read = |path: String| app.app.get(&path).as_user("alice", "customer").send();
    let one: Value = read(format!("/stores/{id}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one, store);
    let all: Vec<Value> = read("/stores".into()).await.unwrap().json().await.unwrap();
    assert_eq!(all, std::slice::from_ref(&store));
    let menu: Vec<Value> = read(format!("/stores/{id}/menu"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(menu.len(), 1);
    assert_eq!(menu[0]["available"], true);
    assert_eq!(menu[0]["storeId"], id);
    let unknown = read(format!("/stores/{}", Uuid::new_v4())).await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let anonymous = app.app.get("/stores").send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    app.finish().await;
}

#[tokio::test]
async fn catalog_changes_publish_registered_changed_and_removed_exactly_once() {
    let app = spawn_app().await;
    let store_id = app.a_store().await;

    let item: Value = app
        .add_item(
            OWNER,
            store_id,
            json!({ "name": "Fried chicken", "price": 18000 }),
        )
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/stores/{store_id}/menu/{}", item["id"].as_str().unwrap());
    let patch = |body: Value| {
        app.app
            .client
            .patch(app.app.url(&path))
            .as_user(OWNER, "owner")
            .json(&body)
            .send()
    };
    let changed = patch(json!({ "price": 19000, "available": false }))
        .await
        .unwrap();
    let unchanged = patch(json!({ "price": 19000 })).await.unwrap();
    let delete = || {
        app.app
            .client
            .delete(app.app.url(&path))
            .as_user(OWNER, "owner")
            .send()
    };
    let removed = delete().await.unwrap();
    let removed_again = delete().await.unwrap();

    assert_eq!(changed.status(), StatusCode::OK);
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(
        (changed["price"].as_i64(), changed["available"].as_bool()),
        (Some(19000), Some(false))
    );
    assert_eq!(unchanged.status(), StatusCode::OK);
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_eq!(removed_again.status(), StatusCode::NOT_FOUND);
    let events = app.store_events(3, Duration::from_secs(8)).await;
    assert_eq!(
        types(&events),
        ["MenuItemRegistered", "MenuItemChanged", "MenuItemRemoved"]
    );
    for event in &events {
        assert_eq!(event["data"]["storeId"], store_id.to_string());
        assert_eq!(event["data"]["menuItemId"], item["id"]);
        assert_eq!(event["source"], "store");
    }
    assert_eq!(events[1]["data"]["price"], 19000);
    assert_eq!(events[1]["data"]["name"], "Fried chicken");
    app.finish().await;
}

#[tokio::test]
async fn invalid_names_and_prices_are_422_with_a_code_and_malformed_json_is_400() {
    let app = spawn_app().await;
    let store_id = app.a_store().await;

    let cases = [
        (json!({ "name": "   ", "price": 1000 }), "invalid_name"),
        (
            json!({ "name": "x".repeat(101), "price": 1000 }),
            "invalid_name",
        ),
        (json!({ "name": "Fries", "price": 0 }), "invalid_price"),
        (
            json!({ "name": "Fries", "price": 10_000_001 }),
            "invalid_price",
        ),
    ];
    for (body, code) in cases {
        let response = app.add_item(OWNER, store_id, body.clone()).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], code, "{body}");
    }
    let fractional = app
        .add_item(OWNER, store_id, json!({ "name": "Fries", "price": 1.5 }))
        .await;
    let malformed = app
        .app
        .post("/stores")
        .as_user(OWNER, "owner")
        .header("content-type", "application/json")
        .body("{\"name\":")
        .send()
        .await
        .unwrap();
    let empty_store = app
        .app
        .post("/stores")
        .as_user(OWNER, "owner")
        .json(&json!({ "name": "" }))
        .send();
    let duplicate = app
        .app
        .post("/stores")
        .as_user(OWNER, "owner")
        .json(&json!({ "name": "Chicken House" }))
        .send();

    assert_eq!(fractional.status(), StatusCode::BAD_REQUEST);
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        empty_store.await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(duplicate.await.unwrap().status(), StatusCode::CONFLICT);
    assert!(app.store_events(0, Duration::from_secs(2)).await.is_empty());
    app.finish().await;
}

#[tokio::test]
async fn only_the_stores_owner_changes_its_menu() {
    let app = spawn_app().await;
    let store_id = app.a_store().await;
    let body = json!({ "name": "Fried chicken", "price": 18000 });

    let other_owner = app.add_item("oscar", store_id, body.clone()).await;
    let customer = app
        .app
        .post(&format!("/stores/{store_id}/menu"))
        .as_user("alice", "customer")
        .json(&body)
        .send()
        .await
        .unwrap();
    let customer_opens = app
        .app
        .post("/stores")
        .as_user("alice", "customer")
        .json(&json!({ "name": "Mine" }))
        .send()
        .await
        .unwrap();
    let unknown_store = app.add_item(OWNER, Uuid::new_v4(), body.clone()).await;
    let owner = app.add_item(OWNER, store_id, body).await;

    assert_eq!(other_owner.status(), StatusCode::NOT_FOUND);
    assert_eq!(customer.status(), StatusCode::FORBIDDEN);
    assert_eq!(customer_opens.status(), StatusCode::FORBIDDEN);
    assert_eq!(unknown_store.status(), StatusCode::NOT_FOUND);
    assert_eq!(owner.status(), StatusCode::CREATED);
    let events = app.store_events(1, Duration::from_secs(3)).await;
    assert_eq!(types(&events), ["MenuItemRegistered"]);
    app.finish().await;
}
