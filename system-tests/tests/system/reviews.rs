//! Reviews through the gateway, with every service behind it: the review service learns of the
//! order, its store's owner and its delivery from the others' events only, a customer reviews a
//! delivered order once and edits the review, the store's owner replies, and the store's rating
//! is published, which the store then shows; every refusal is a problem and changes nothing.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared_events::Topic;

use crate::system::{PATIENCE, System, User};

/// Posts `body` as `customer` until the answer is no longer `waiting_for` (the review service
/// has not yet read the event that changes it); the last answer.
async fn post_once_known(customer: &User, body: &Value, waiting_for: &str) -> (StatusCode, Value) {
    test_stack::eventually(PATIENCE, "the review service to learn", || async {
        let (status, answer) = customer
            .send(Method::POST, "/reviews", Some(body.clone()))
            .await;
        (answer["code"] != waiting_for).then_some((status, answer))
    })
    .await
}

#[tokio::test]
async fn a_customer_reviews_a_delivered_order_once_edits_it_and_its_stores_owner_replies() {
    // Arrange: an owner with a store, another owner, two customers, a rider; an order cooked
    // but not yet delivered.
    let system = System::start().await;
    let (olivia, oscar, alice, bob, rider) = (
        system.user("olivia", "owner").await,
        system.user("oscar", "owner").await,
        system.user("alice", "customer").await,
        system.user("bob", "customer").await,
        system.user("ryan", "rider").await,
    );
    let (store_id, item_id) = system.open_store(&olivia).await;
    let order_id = alice.place(&store_id, &item_id).await;
    olivia.cook(&store_id, &order_id).await;
    let review = |rating: i64| json!({ "orderId": order_id, "rating": rating, "text": "Crispy." });

    // Not delivered yet: 409 once the service knows the order (404 before).
    let (status, early) = post_once_known(&alice, &review(4), "not_found").await;
    assert_eq!(
        (status, early["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_delivered"))
    );

    rider.deliver(&order_id).await;

    // Bad input: 422 with its code, nothing stored.
    for (body, code) in [
        (review(0), "invalid_rating"),
        (review(6), "invalid_rating"),
        (
            json!({ "orderId": order_id, "rating": 4, "text": " " }),
            "invalid_text",
        ),
    ] {
        let (status, problem) = alice.send(Method::POST, "/reviews", Some(body)).await;
        assert_eq!(
            (status, problem["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code))
        );
    }
    assert_eq!(
        alice.get(&format!("/reviews?orderId={order_id}")).await,
        json!([])
    );

    // The review, once: 201, then 409; no one else's, no rider's.
    let (status, posted) = post_once_known(&alice, &review(4), "not_delivered").await;
    assert_eq!(status, StatusCode::CREATED, "{posted}");
    let (status, again) = alice.send(Method::POST, "/reviews", Some(review(5))).await;
    assert_eq!(
        (status, again["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_reviewed"))
    );
    let (status, _) = bob.send(Method::POST, "/reviews", Some(review(1))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not bob's order");
    let (status, _) = rider.send(Method::POST, "/reviews", Some(review(1))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Its author edits it; another customer may not; a stale version is refused.
    let review_id = posted["id"].as_str().unwrap();
    let path = format!("/reviews/{review_id}");
    let edit = json!({ "rating": 5, "text": "Crispy and early." });
    let (status, edited) = alice.send(Method::PUT, &path, Some(edit.clone())).await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(
        (edited["rating"].as_i64(), edited["version"].as_i64()),
        (Some(5), Some(2))
    );
    let (status, _) = bob.send(Method::PUT, &path, Some(edit.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let stale = alice
        .request(Method::PUT, &path)
        .header("if-match", "\"1\"")
        .json(&json!({ "rating": 1, "text": "changed my mind" }))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    let problem: Value = stale.json().await.unwrap();
    assert_eq!(problem["code"], "stale_version");

    // The store's owner replies; another owner may not.
    let reply = format!("/reviews/{review_id}/reply");
    let (status, _) = oscar
        .send(Method::PUT, &reply, Some(json!({ "text": "Hi" })))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, replied) = olivia
        .send(Method::PUT, &reply, Some(json!({ "text": "Thank you!" })))
        .await;
    assert_eq!(status, StatusCode::OK, "{replied}");

    // Anyone signed in reads the store's reviews: the one review, edited, with its reply.
    let listed = rider.get(&format!("/reviews?storeId={store_id}")).await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (
            &listed[0]["id"],
            listed[0]["rating"].as_i64(),
            &listed[0]["reply"]
        ),
        (&posted["id"], Some(5), &json!("Thank you!"))
    );
    assert_eq!(listed[0]["text"], "Crispy and early.");

    // The store's rating went with each change.
    let events =
        test_stack::read_events(&system.kafka, Topic::Review, 4, Duration::from_secs(5)).await;
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ReviewPosted",
            "StoreRatingChanged",
            "ReviewEdited",
            "StoreRatingChanged"
        ]
    );
    let averages: Vec<&Value> = events[1..]
        .iter()
        .step_by(2)
        .map(|e| &e["data"]["averageRating"])
        .collect();
    assert_eq!(averages, [&json!(400), &json!(500)]);

    // The store shows it, from those events.
    let rated = json!({ "reviewCount": 1, "averageRating": 500 });
    alice
        .wait_for(&format!("/stores/{store_id}"), "the store's rating", |s| {
            s["rating"] == rated
        })
        .await;
    system.finish().await;
}
