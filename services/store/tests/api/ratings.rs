//! `StoreRatingChanged`: each store shows its rating as the review service last published it.

use chrono::Duration;
use serde_json::{Value, json};
use shared_events::{Envelope, StoreRatingChanged};
use test_stack::AsUser;
use uuid::Uuid;

use crate::helpers::spawn_app;

fn rating(store_id: Uuid, review_count: u32, average_rating: u32) -> Envelope {
    Envelope::new(
        "review",
        StoreRatingChanged {
            store_id,
            review_count,
            average_rating,
        },
    )
}

#[tokio::test]
async fn a_store_shows_its_latest_rating_and_an_older_one_replayed_changes_nothing() {
    let app = spawn_app().await;
    let store_id = app.a_store().await;
    let store = async || -> Value {
        let response = app
            .app
            .get(&format!("/stores/{store_id}"))
            .as_user("ryan", "rider");
        response.send().await.unwrap().json().await.unwrap()
    };
    assert_eq!(store().await["rating"], Value::Null, "no review yet");

    let first = rating(store_id, 1, 400);
    let mut second = rating(store_id, 2, 450);
    second.occurred_at = first.occurred_at + Duration::seconds(1);
    app.publish(&first).await;
    app.publish(&second).await;
    app.publish(&first).await;
    let mut replayed = first.clone();
    replayed.id = Uuid::now_v7();
    app.publish(&replayed).await;
    test_stack::wait_for_inbox(&app.db.pool, "store.ratings", 3).await;

    let expected = json!({ "reviewCount": 2, "averageRating": 450 });
    assert_eq!(store().await["rating"], expected);
    let stores: Vec<Value> = app
        .app
        .get("/stores")
        .as_user("alice", "customer")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stores[0]["rating"], expected);
    app.finish().await;
}
