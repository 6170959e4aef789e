use std::time::Duration;

use backbone::KafkaSettings;
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared_events::{CancelReason, Envelope, OrderCanceled, OrderLine, OrderPlaced, Topic};
use store_service::Settings;
use test_stack::{AsUser, RunningApp, TestDatabase};
use uuid::Uuid;

pub const OWNER: &str = "olivia";

pub struct TestApp {
    pub app: RunningApp,
    pub db: TestDatabase,
    pub kafka: KafkaSettings,
}

pub async fn spawn_app() -> TestApp {
    let db = TestDatabase::create().await;
    let kafka = test_stack::kafka("store").await;
    start(db, kafka).await
}

/// Starts the service on an existing database and topic prefix (a restart, or a replica).
pub async fn start(db: TestDatabase, kafka: KafkaSettings) -> TestApp {
    let app = start_instance(&db, &kafka).await;
    TestApp { app, db, kafka }
}

pub async fn start_instance(db: &TestDatabase, kafka: &KafkaSettings) -> RunningApp {
    let settings = Settings {
        service: test_stack::service_settings(db, kafka),
    };
    RunningApp::start(store_service::build(settings).await.unwrap()).await
}

/// Publishes `envelope` on its topic as its producer would.
pub async fn publish(kafka: &KafkaSettings, envelope: &Envelope) {
    test_stack::send_raw(
        kafka,
        envelope.event.topic(),
        &envelope.key(),
        &envelope.to_bytes(),
    )
    .await;
}

pub fn order_placed(store_id: Uuid) -> Envelope {
    Envelope::new(
        "order",
        OrderPlaced {
            order_id: Uuid::new_v4(),
            customer_id: "alice".into(),
            store_id,
            items: vec![OrderLine {
                menu_item_id: Uuid::new_v4(),
                name: "Fried chicken".into(),
                quantity: 2,
                unit_price: 18_000,
            }],
            total_price: 36_000,
            delivery_address: "Seoul, Jongno-gu 1".into(),
            payment_id: Uuid::new_v4(),
        },
    )
}

pub fn order_canceled(order_id: Uuid, store_id: Uuid) -> Envelope {
    Envelope::new(
        "order",
        OrderCanceled {
            order_id,
            customer_id: "alice".into(),
            store_id,
            reason: CancelReason::Customer,
        },
    )
}

impl TestApp {
    pub async fn publish(&self, envelope: &Envelope) {
        publish(&self.kafka, envelope).await;
    }

    pub async fn open_store(&self, owner: &str, name: &str) -> Value {
        let response = self
            .app
            .post("/stores")
            .as_user(owner, "owner")
            .json(&json!({ "name": name }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    /// A store of [`OWNER`]'s; its id.
    pub async fn a_store(&self) -> Uuid {
        let store = self.open_store(OWNER, "Chicken House").await;
        store["id"].as_str().unwrap().parse().unwrap()
    }

    pub async fn add_item(&self, owner: &str, store_id: Uuid, body: Value) -> reqwest::Response {
        self.app
            .post(&format!("/stores/{store_id}/menu"))
            .as_user(owner, "owner")
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// `POST /store-orders/{order_id}/{action}` as `user` with `role`.
    pub async fn act(
        &self,
        order_id: Uuid,
        action: &str,
        user: &str,
        role: &str,
    ) -> reqwest::Response {
        let mut request = self
            .app
            .post(&format!("/store-orders/{order_id}/{action}"))
            .as_user(user, role);
        if action == "reject" {
            request = request.json(&json!({ "reason": "sold out" }));
        }
        request.send().await.unwrap()
    }

    pub async fn store_orders(&self, store_id: Uuid) -> Vec<Value> {
        let response = self
            .app
            .get(&format!("/store-orders?storeId={store_id}"))
            .as_user(OWNER, "owner")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Waits until the store order of `order_id` has `status`; returns it.
    pub async fn wait_for_order(&self, store_id: Uuid, order_id: Uuid, status: &str) -> Value {
        let what = format!("store order {order_id} {status}");
        test_stack::eventually(Duration::from_secs(30), &what, || async {
            let orders = self.store_orders(store_id).await;
            orders
                .into_iter()
                .find(|o| o["orderId"] == order_id.to_string() && o["status"] == status)
        })
        .await
    }

    /// Waits until the order consumer has recorded `count` distinct events.
    pub async fn wait_for_handled(&self, count: i64) {
        test_stack::wait_for_inbox(&self.db.pool, "store.orders", count).await;
    }

    /// Messages on the store topic but the `StoreRegistered` of the one store the test opened,
    /// which must be there once (waits up to `timeout` for one more than `expected`).
    pub async fn store_events(&self, expected: usize, timeout: Duration) -> Vec<Value> {
        let (registered, events): (Vec<Value>, Vec<Value>) = self
            .all_store_events(expected + 1, timeout)
            .await
            .into_iter()
            .partition(|e| e["type"] == "StoreRegistered");
        assert_eq!(registered.len(), 1, "the store's own event: {registered:?}");
        events
    }

    /// Every message on the store topic (waits up to `timeout` for one more than `expected`).
    pub async fn all_store_events(&self, expected: usize, timeout: Duration) -> Vec<Value> {
        test_stack::read_events(&self.kafka, Topic::Store, expected, timeout).await
    }

    pub async fn finish(self) {
        self.app.stop().await;
        self.db.drop().await;
    }
}

pub fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}
