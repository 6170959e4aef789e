//! A store's owner hears of the orders of their stores through the gateway: a new order, its
//! cancellation and an accident on its way, and nothing of another owner's.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared_events::Topic;

use crate::system::{PATIENCE, System, find};

#[tokio::test]
async fn an_owner_is_told_of_their_stores_orders_cancellations_and_accidents_and_no_one_elses() {
    // Arrange: two owners with a store each, a customer, a rider.
    let system = System::start().await;
    let (olivia, oscar, alice, rider) = (
        system.user("olivia", "owner").await,
        system.user("oscar", "owner").await,
        system.user("alice", "customer").await,
        system.user("ryan", "rider").await,
    );
    let (store_id, item_id) = system.open_store(&olivia).await;
    system.open_store(&oscar).await;

    // Act: one order canceled by the customer, one that has an accident on its way.
    let canceled = alice.place(&store_id, &item_id).await;
    olivia.wait_for_store_order(&store_id, &canceled).await;
    let (status, body) = alice.post(&format!("/orders/{canceled}/cancel")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let crashed = alice.place(&store_id, &item_id).await;
    olivia.cook(&store_id, &crashed).await;
    let deliveries = rider
        .wait_for(
            &format!("/deliveries?orderId={crashed}"),
            "the delivery",
            |l| find(l, "orderId", &crashed).is_some(),
        )
        .await;
    let delivery_id = deliveries[0]["id"].as_str().unwrap();
    let (status, body) = rider
        .send(
            Method::POST,
            &format!("/deliveries/{delivery_id}/accident"),
            Some(json!({ "reason": "scooter crash" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Assert: the owner's five, each once; the customer's are the customer's; oscar has none.
    let expected = [
        (&canceled, "OrderPlaced", "A new order came in: 18,000 won."),
        (
            &canceled,
            "OrderCanceled",
            "An order was canceled: the customer canceled it.",
        ),
        (&crashed, "OrderPlaced", "A new order came in: 18,000 won."),
        (
            &crashed,
            "DeliveryAccidentReported",
            "An order had an accident on its way: scooter crash.",
        ),
        (
            &crashed,
            "OrderCanceled",
            "An order was canceled: a delivery accident.",
        ),
    ];
    let mine = olivia
        .wait_for("/notifications", "the owner's five notifications", |l| {
            l.as_array().is_some_and(|l| l.len() >= expected.len())
        })
        .await;
    let mut got: Vec<(String, String, String)> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            assert_eq!(n["recipient"], "Owner", "{n}");
            assert_eq!(n["customerId"], "alice", "whose order it is: {n}");
            let field = |k: &str| n[k].as_str().unwrap().to_owned();
            (field("orderId"), field("eventType"), field("message"))
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, String, String)> = expected
        .iter()
        .map(|(o, t, m)| (o.to_string(), t.to_string(), m.to_string()))
        .collect();
    want.sort();
    assert_eq!(got, want);
    let theirs = alice
        .wait_for("/notifications", "the customer's cancellation", |l| {
            count_of(l, &canceled, "OrderCanceled") == 1
        })
        .await;
    assert!(
        theirs
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["recipient"] == "Customer"),
        "{theirs}"
    );
    assert_eq!(
        first_message(&theirs, &canceled, "OrderCanceled"),
        "Your order was canceled: you asked for it."
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(oscar.get("/notifications").await, json!([]));
    assert_eq!(
        olivia.get("/notifications").await.as_array().unwrap().len(),
        expected.len(),
        "nothing more came"
    );
    system.finish().await;
}

#[tokio::test]
async fn a_refused_store_is_a_problem_and_announces_no_one_and_notifications_need_a_token() {
    let system = System::start().await;
    let olivia = system.user("olivia", "owner").await;
    let (status, store) = olivia
        .send(Method::POST, "/stores", Some(json!({ "name": "Olivia's" })))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{store}");

    let duplicate = olivia
        .request(Method::POST, "/stores")
        .json(&json!({ "name": "Olivia's" }))
        .send()
        .await
        .unwrap();
    let blank = olivia
        .request(Method::POST, "/stores")
        .json(&json!({ "name": "   " }))
        .send()
        .await
        .unwrap();
    let anonymous = system.gateway.get("/notifications").send().await.unwrap();

    for (response, status, code) in [
        (duplicate, StatusCode::CONFLICT, "store_name_taken"),
        (blank, StatusCode::UNPROCESSABLE_ENTITY, "invalid_name"),
    ] {
        assert_problem(response, status, code).await;
    }
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.headers()["content-type"],
        "application/problem+json"
    );
    let stores = olivia.get("/stores").await;
    assert_eq!(stores.as_array().unwrap().len(), 1, "{stores}");
    let announced = registrations(&system).await;
    assert_eq!(
        announced,
        [store["id"].clone()],
        "one StoreRegistered, for the store opened"
    );
    assert_eq!(olivia.get("/notifications").await, json!([]));
    system.finish().await;
}

async fn assert_problem(response: reqwest::Response, status: StatusCode, code: &str) {
    assert_eq!(response.status(), status, "{code}");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], code);
}

/// The store ids of every `StoreRegistered` on the store topic.
async fn registrations(system: &System) -> Vec<Value> {
    use rdkafka::Message;
    test_stack::read_topic(&system.kafka, Topic::Store, usize::MAX, PATIENCE / 10)
        .await
        .iter()
        .map(|m| serde_json::from_slice::<Value>(m.payload().unwrap()).unwrap())
        .filter(|e| e["type"] == "StoreRegistered")
        .map(|e| e["data"]["storeId"].clone())
        .collect()
}

fn count_of(list: &Value, order_id: &str, event_type: &str) -> usize {
    list.as_array().map_or(0, |l| {
        l.iter()
            .filter(|n| n["orderId"] == order_id && n["eventType"] == event_type)
            .count()
    })
}

fn first_message<'a>(list: &'a Value, order_id: &str, event_type: &str) -> &'a str {
    list.as_array()
        .unwrap()
        .iter()
        .find(|n| n["orderId"] == order_id && n["eventType"] == event_type)
        .and_then(|n| n["message"].as_str())
        .unwrap()
}
