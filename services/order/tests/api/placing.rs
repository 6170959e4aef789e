//! Placing orders: paid, declined, idempotent, validated.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_stack::AsUser;
use uuid::Uuid;

use crate::helpers::{Options, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_paid_order_is_201_placed_and_order_placed_is_published_exactly_once() {
    let app = spawn_app().await;

    let response = app.place("alice", &app.order_body(2)).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(response.headers().contains_key("location"));
    let order: Value = response.json().await.unwrap();
    assert_eq!(order["status"], "Placed");
    assert_eq!(order["totalPrice"], 36_000, "priced from the replica");
    assert_eq!(order["items"][0]["name"], "Fried chicken");
    assert!(order["paymentId"].is_string());
    let events = app.order_events(1, Duration::from_secs(5)).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "OrderPlaced");
    assert_eq!(events[0]["orderId"], order["id"]);
    assert_eq!(events[0]["data"]["paymentId"], order["paymentId"]);
    app.finish().await;
}

#[tokio::test]
async fn a_declined_payment_is_402_and_publishes_nothing() {
    let app = spawn_app_with(Options {
        decline_above: 50_000,
        ..Options::default()
    })
    .await;

    let response = app.place("alice", &app.order_body(3)).await; // 54,000 won

    assert_eq!(response.status(), StatusCode::PAYMENT_REQUIRED);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "payment_declined");
    let orders = app.orders_of("alice").await;
    assert_eq!(orders[0]["status"], "PaymentDeclined");
    assert!(app.order_events(0, Duration::from_secs(2)).await.is_empty());
    app.finish().await;
}

#[tokio::test]
async fn the_same_idempotency_key_twice_makes_one_order_and_one_payment() {
    let app = spawn_app().await;
    let body = app.order_body(1);
    let send = || app.place_keyed("alice", "checkout-42", &body);

    let first: Value = send().await.json().await.unwrap();
    let second = send().await;

    assert_eq!(second.status(), StatusCode::CREATED);
    let second: Value = second.json().await.unwrap();
    assert_eq!(first["id"], second["id"]);
    assert_eq!(app.orders_of("alice").await.len(), 1);
    assert_eq!(app.payment_count().await, 1);
    // Another customer's identical key is theirs alone.
    let bobs = app.place_keyed("bob", "checkout-42", &body).await;
    let bobs: Value = bobs.json().await.unwrap();
    assert_ne!(bobs["id"], first["id"]);
    app.finish().await;
}

#[tokio::test]
async fn a_key_sent_again_with_another_request_is_refused_and_nothing_more_is_charged() {
    let app = spawn_app_with(Options {
        decline_above: 50_000,
        ..Options::default()
    })
    .await;
    let send = |key: &'static str, body: Value| {
        let app = &app;
        async move {
            let response = app.place_keyed("alice", key, &body).await;
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, first) = send("checkout-43", app.order_body(1)).await;
    assert_eq!(status, StatusCode::CREATED);
    let charged = app.payment_count().await;

    let (status, more) = send("checkout-43", app.order_body(2)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{more}");
    assert_eq!(more["code"], "idempotency_key_reused");
    let (status, elsewhere) = send(
        "checkout-43",
        json!({ "storeId": app.store_id, "items": [{ "menuItemId": app.chicken, "quantity": 1 }],
                "deliveryAddress": "Busan" }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{elsewhere}");
    assert_eq!(elsewhere["code"], "idempotency_key_reused");
    // A request the document refuses is refused as such, whatever its key.
    let (status, empty) = send(
        "checkout-43",
        json!({ "storeId": app.store_id, "items": [], "deliveryAddress": "Seoul" }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{empty}");
    assert_eq!(empty["code"], "no_items");
    // The same request again (white space around the address aside) is the first order.
    let mut again = app.order_body(1);
    again["deliveryAddress"] = json!(format!(
        "  {}  ",
        again["deliveryAddress"].as_str().unwrap()
    ));
    let (status, replayed) = send("checkout-43", again).await;
    assert_eq!(status, StatusCode::CREATED, "{replayed}");
    assert_eq!(replayed["id"], first["id"]);
    assert_eq!(app.payment_count().await, charged);

    // A declined order keeps its key too: another request under it is not answered 402.
    let (status, _) = send("checkout-44", app.order_body(3)).await; // 54,000 won
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
    let charged = app.payment_count().await;
    let (status, other) = send("checkout-44", app.order_body(1)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{other}");
    assert_eq!(other["code"], "idempotency_key_reused");

    assert_eq!(app.orders_of("alice").await.len(), 2);
    assert_eq!(app.payment_count().await, charged);
    app.finish().await;
}

#[tokio::test]
async fn orders_are_taken_from_the_menu_replica_with_no_store_service_running() {
    // No store service exists in this test at all: only its past catalog events.
    let app = spawn_app().await;
    let cola = Uuid::new_v4();
    app.register_menu_item(cola, "Cola", 2_000).await;
    let body = json!({
        "storeId": app.store_id,
        "items": [{ "menuItemId": app.chicken, "quantity": 1 }, { "menuItemId": cola, "quantity": 2 }],
        "deliveryAddress": "Seoul",
    });

    let order: Value =
        test_stack::eventually(Duration::from_secs(20), "cola on the replica", || async {
            let response = app.place("alice", &body).await;
            (response.status() == StatusCode::CREATED).then_some(response)
        })
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(order["totalPrice"], 18_000 + 2 * 2_000);
    app.finish().await;
}

#[tokio::test]
async fn bad_input_is_a_problem_and_nothing_is_charged() {
    let app = spawn_app().await;
    let post = |body: &'static str| {
        app.order
            .post("/orders")
            .as_user("alice", "customer")
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let with = |items: Value| json!({ "storeId": app.store_id, "items": items, "deliveryAddress": "Seoul" });

    let malformed = post("{\"storeId\":").await.unwrap();
    let wrong_type = post("{\"storeId\":1,\"items\":[],\"deliveryAddress\":\"x\"}")
        .await
        .unwrap();
    let negative = app
        .place(
            "alice",
            &with(json!([{ "menuItemId": app.chicken, "quantity": -1 }])),
        )
        .await;
    let too_many = app
        .place(
            "alice",
            &with(json!([{ "menuItemId": app.chicken, "quantity": 100 }])),
        )
        .await;
    let unknown = app
        .place(
            "alice",
            &with(json!([{ "menuItemId": Uuid::new_v4(), "quantity": 1 }])),
        )
        .await;
    let empty = app.place("alice", &with(json!([]))).await;
    let by_owner = app
        .order
        .post("/orders")
        .as_user("olivia", "owner")
        .json(&app.order_body(1))
        .send()
        .await
        .unwrap();

    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(wrong_type.status(), StatusCode::BAD_REQUEST);
    for (response, code) in [
        (negative, "invalid_quantity"),
        (too_many, "invalid_quantity"),
        (unknown, "menu_item_unknown"),
        (empty, "no_items"),
    ] {
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], code);
    }
    assert_eq!(by_owner.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.payment_count().await, 0);
    app.finish().await;
}

#[tokio::test]
async fn another_customers_order_is_404() {
    let app = spawn_app().await;
    let order = app.place_ok(1).await;
    let id = order["id"].as_str().unwrap();

    let peek = app.get_order("mallory", id).await;
    let cancel = app
        .order
        .post(&format!("/orders/{id}/cancel"))
        .as_user("mallory", "customer")
        .send()
        .await
        .unwrap();

    assert_eq!(peek.status(), StatusCode::NOT_FOUND);
    assert_eq!(cancel.status(), StatusCode::NOT_FOUND);
    assert!(app.orders_of("mallory").await.is_empty());
    app.finish().await;
}
