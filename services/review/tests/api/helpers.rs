use std::time::Duration;

use backbone::KafkaSettings;
use review_service::Settings;
use serde_json::{Value, json};
use shared_events::{Envelope, StoreRegistered, Topic};
use test_stack::journey::Order;
use test_stack::{AsUser, RunningApp, TestDatabase};

pub const CUSTOMER: &str = "alice";
pub const OWNER: &str = "olivia";

pub struct TestApp {
    pub app: RunningApp,
    pub db: TestDatabase,
    pub kafka: KafkaSettings,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with_window(Duration::from_secs(3600)).await
}

pub async fn spawn_app_with_window(edit_window: Duration) -> TestApp {
    let db = TestDatabase::create().await;
    let kafka = test_stack::kafka("review").await;
    let settings = Settings {
        service: test_stack::service_settings(&db, &kafka),
        edit_window,
    };
    let app = RunningApp::start(review_service::build(settings).await.unwrap()).await;
    TestApp { app, db, kafka }
}

/// What the store service publishes when `OWNER` opens the order's store.
pub fn store_registered(order: &Order) -> Envelope {
    Envelope::new(
        "store",
        StoreRegistered {
            store_id: order.store_id,
            owner_id: OWNER.into(),
            name: "Chicken House".into(),
        },
    )
}

impl TestApp {
    /// Publishes `envelopes` on their topics as their producers would.
    pub async fn publish(&self, envelopes: &[Envelope]) {
        test_stack::publish_events(&self.kafka, envelopes).await;
    }

    /// An order of `CUSTOMER`'s, delivered, from a store of `OWNER`'s, once the service knows.
    pub async fn a_delivered_order(&self) -> Order {
        let order = Order::new(CUSTOMER);
        let handled = self.handled().await;
        self.publish(&[store_registered(&order), order.placed(), order.delivered()])
            .await;
        self.wait_for_handled(handled + 3).await;
        order
    }

    /// `POST /reviews` as `user` with `role`.
    pub async fn post_review(&self, body: Value, user: &str, role: &str) -> reqwest::Response {
        self.app
            .post("/reviews")
            .as_user(user, role)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// `CUSTOMER` reviews `order` with `rating`.
    pub async fn review(&self, order: &Order, rating: i64) -> reqwest::Response {
        let body = json!({ "orderId": order.id, "rating": rating, "text": "Crispy." });
        self.post_review(body, CUSTOMER, "customer").await
    }

    /// `PUT /reviews/{id}{suffix}` as `user` with `role`.
    pub async fn put(&self, path: &str, body: Value, user: &str, role: &str) -> reqwest::Response {
        self.app
            .client
            .put(self.app.url(path))
            .as_user(user, role)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// `GET /reviews?{query}` as a rider (anyone signed in may read).
    pub async fn reviews(&self, query: &str) -> Vec<Value> {
        let response = self
            .app
            .get(&format!("/reviews?{query}"))
            .as_user("ryan", "rider")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        response.json().await.unwrap()
    }

    /// How many events the consumer has recorded.
    pub async fn handled(&self) -> i64 {
        sqlx::query_scalar("select count(*) from inbox where consumer = 'review.facts'")
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
    }

    /// Waits until the consumer has recorded `count` distinct events.
    pub async fn wait_for_handled(&self, count: i64) {
        test_stack::wait_for_inbox(&self.db.pool, "review.facts", count).await;
    }

    /// Messages on the review topic (waits up to `timeout` for one more than `expected`).
    pub async fn review_events(&self, expected: usize, timeout: Duration) -> Vec<Value> {
        test_stack::read_events(&self.kafka, Topic::Review, expected, timeout).await
    }

    pub async fn finish(self) {
        self.app.stop().await;
        self.db.drop().await;
    }
}

pub fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

pub async fn problem(response: reqwest::Response) -> (reqwest::StatusCode, Value) {
    let status = response.status();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    (status, response.json().await.unwrap())
}
