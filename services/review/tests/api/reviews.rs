use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use test_stack::journey::Order;

use crate::helpers::{CUSTOMER, OWNER, problem, spawn_app, spawn_app_with_window, types};

#[tokio::test]
async fn a_customer_reviews_a_delivered_order_once_and_the_store_rating_is_published() {
    let app = spawn_app().await;
    let order = app.a_delivered_order().await;

    let posted = app.review(&order, 4).await;
    let again = app.review(&order, 5).await;

    assert_eq!(posted.status(), StatusCode::CREATED);
    let review: Value = posted.json().await.unwrap();
    assert_eq!(review["orderId"], order.id.to_string());
    assert_eq!(review["storeId"], order.store_id.to_string());
    assert_eq!(
        (review["rating"].as_i64(), review["version"].as_i64()),
        (Some(4), Some(1))
    );
    assert_eq!(review["text"], "Crispy.");
    let (status, body) = problem(again).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_reviewed"))
    );
    let listed = app.reviews(&format!("storeId={}", order.store_id)).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0], review);
    let of_order = app.reviews(&format!("orderId={}", order.id)).await;
    assert_eq!(of_order.len(), 1);
    assert_eq!(of_order[0], review);
    let events = app.review_events(2, Duration::from_secs(5)).await;
    assert_eq!(types(&events), ["ReviewPosted", "StoreRatingChanged"]);
    assert_eq!(events[0]["data"]["reviewId"], review["id"]);
    assert_eq!(events[0]["data"]["orderId"], order.id.to_string());
    assert_eq!(events[0]["data"]["customerId"], CUSTOMER);
    assert_eq!(events[1]["data"]["storeId"], order.store_id.to_string());
    assert_eq!(events[1]["data"]["reviewCount"], 1);
    assert_eq!(events[1]["data"]["averageRating"], 400);
    app.finish().await;
}

#[tokio::test]
async fn an_order_not_delivered_unknown_or_of_another_customer_cannot_be_reviewed() {
    let app = spawn_app().await;
    let undelivered = Order::new(CUSTOMER);
    let handled = app.handled().await;
    app.publish(&[undelivered.placed()]).await;
    app.wait_for_handled(handled + 1).await;
    let delivered = app.a_delivered_order().await;

    let (early, _) = problem(app.review(&undelivered, 5).await).await;
    let unknown = app.review(&Order::new(CUSTOMER), 5).await;
    let body = json!({ "orderId": delivered.id, "rating": 5, "text": "mine?" });
    let not_theirs = app.post_review(body.clone(), "bob", "customer").await;
    let owner = app.post_review(body, OWNER, "owner").await;

    assert_eq!(early, StatusCode::CONFLICT);
    let (_, body) = problem(app.review(&undelivered, 5).await).await;
    assert_eq!(body["code"], "not_delivered");
    assert_eq!(problem(unknown).await.0, StatusCode::NOT_FOUND);
    assert_eq!(problem(not_theirs).await.0, StatusCode::NOT_FOUND);
    assert_eq!(problem(owner).await.0, StatusCode::FORBIDDEN);
    assert!(
        app.reviews(&format!("storeId={}", delivered.store_id))
            .await
            .is_empty()
    );
    app.finish().await;
}

#[tokio::test]
async fn a_bad_rating_or_text_is_a_422_and_stores_nothing() {
    let app = spawn_app().await;
    let order = app.a_delivered_order().await;
    let cases = [
        (
            json!({ "orderId": order.id, "rating": 0, "text": "meh" }),
            "invalid_rating",
        ),
        (
            json!({ "orderId": order.id, "rating": 6, "text": "wow" }),
            "invalid_rating",
        ),
        (
            json!({ "orderId": order.id, "rating": 3, "text": "   " }),
            "invalid_text",
        ),
        (
            json!({ "orderId": order.id, "rating": 3, "text": "a".repeat(1001) }),
            "invalid_text",
        ),
    ];

    for (body, code) in cases {
        let (status, problem) = problem(app.post_review(body, CUSTOMER, "customer").await).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code))
        );
    }

    assert!(
        app.reviews(&format!("orderId={}", order.id))
            .await
            .is_empty()
    );
    assert_eq!(app.review(&order, 3).await.status(), StatusCode::CREATED);
    app.finish().await;
}

#[tokio::test]
async fn its_author_edits_a_review_and_the_rating_follows() {
    let app = spawn_app().await;
    let order = app.a_delivered_order().await;
    let review: Value = app.review(&order, 4).await.json().await.unwrap();
    let path = format!("/reviews/{}", review["id"].as_str().unwrap());

    let edited = app
        .put(
            &path,
            json!({ "rating": 2, "text": "Cold." }),
            CUSTOMER,
            "customer",
        )
        .await;
    let by_another = app
        .put(
            &path,
            json!({ "rating": 5, "text": "!" }),
            "bob",
            "customer",
        )
        .await;
    let invalid = app
        .put(
            &path,
            json!({ "rating": 9, "text": "!" }),
            CUSTOMER,
            "customer",
        )
        .await;

    assert_eq!(edited.status(), StatusCode::OK);
    let edited: Value = edited.json().await.unwrap();
    assert_eq!(
        (edited["rating"].as_i64(), edited["version"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(edited["text"], "Cold.");
    assert_eq!(problem(by_another).await.0, StatusCode::FORBIDDEN);
    assert_eq!(problem(invalid).await.1["code"], "invalid_rating");
    let events = app.review_events(4, Duration::from_secs(5)).await;
    assert_eq!(
        types(&events),
        [
            "ReviewPosted",
            "StoreRatingChanged",
            "ReviewEdited",
            "StoreRatingChanged"
        ]
    );
    assert_eq!(events[3]["data"]["averageRating"], 200);
    assert_eq!(
        app.reviews(&format!("orderId={}", order.id)).await,
        [edited]
    );
    app.finish().await;
}

#[tokio::test]
async fn an_edit_at_a_stale_version_is_a_412_and_changes_nothing() {
    let app = spawn_app().await;
    let order = app.a_delivered_order().await;
    let review: Value = app.review(&order, 4).await.json().await.unwrap();
    let url = app
        .app
        .url(&format!("/reviews/{}", review["id"].as_str().unwrap()));
    let edit = |version: &str, rating: i64| {
        app.app
            .client
            .put(&url)
            .header("x-user-id", CUSTOMER)
            .header("x-user-role", "customer")
            .header("if-match", version)
            .json(&json!({ "rating": rating, "text": "again" }))
            .send()
    };

    let first = edit("\"1\"", 5).await.unwrap();
    let stale = edit("\"1\"", 1).await.unwrap();

    assert_eq!(first.status(), StatusCode::OK);
    let (status, body) = problem(stale).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::PRECONDITION_FAILED, Some("stale_version"))
    );
    let now = app.reviews(&format!("orderId={}", order.id)).await;
    assert_eq!(
        (now[0]["rating"].as_i64(), now[0]["version"].as_i64()),
        (Some(5), Some(2))
    );
    app.finish().await;
}

#[tokio::test]
async fn an_edit_after_the_window_is_a_409() {
    let app = spawn_app_with_window(Duration::from_millis(1)).await;
    let order = app.a_delivered_order().await;
    let review: Value = app.review(&order, 4).await.json().await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;

    let path = format!("/reviews/{}", review["id"].as_str().unwrap());
    let late = app
        .put(
            &path,
            json!({ "rating": 1, "text": "x" }),
            CUSTOMER,
            "customer",
        )
        .await;

    let (status, body) = problem(late).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("edit_window_closed"))
    );
    app.finish().await;
}

#[tokio::test]
async fn the_stores_owner_replies_and_no_one_else() {
    let app = spawn_app().await;
    let order = app.a_delivered_order().await;
    let review: Value = app.review(&order, 5).await.json().await.unwrap();
    let path = format!("/reviews/{}/reply", review["id"].as_str().unwrap());

    let other_owner = app
        .put(&path, json!({ "text": "hi" }), "oscar", "owner")
        .await;
    let customer = app
        .put(&path, json!({ "text": "hi" }), CUSTOMER, "customer")
        .await;
    let replied = app
        .put(&path, json!({ "text": " Thank you! " }), OWNER, "owner")
        .await;
    let nowhere = app
        .put(
            &format!("/reviews/{}/reply", uuid::Uuid::new_v4()),
            json!({ "text": "hi" }),
            OWNER,
            "owner",
        )
        .await;

    assert_eq!(problem(other_owner).await.0, StatusCode::FORBIDDEN);
    assert_eq!(problem(customer).await.0, StatusCode::FORBIDDEN);
    assert_eq!(replied.status(), StatusCode::OK);
    let replied: Value = replied.json().await.unwrap();
    assert_eq!(replied["reply"], "Thank you!");
    assert_eq!(replied["version"], 1);
    assert_eq!(problem(nowhere).await.0, StatusCode::NOT_FOUND);
    app.finish().await;
}

#[tokio::test]
async fn listing_needs_exactly_one_of_store_and_order() {
    let app = spawn_app().await;
    for query in [
        "",
        "storeId=x",
        &format!("storeId={0}&orderId={0}", uuid::Uuid::new_v4()),
    ] {
        let response = app
            .app
            .get(&format!("/reviews?{query}"))
            .header("x-user-id", "ryan")
            .header("x-user-role", "rider")
            .send()
            .await
            .unwrap();
        let (status, body) = problem(response).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("malformed_query"))
        );
    }
    app.finish().await;
}
