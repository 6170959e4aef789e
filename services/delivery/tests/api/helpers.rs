use std::time::Duration;

use backbone::KafkaSettings;
use delivery_service::Settings;
use serde_json::{Value, json};
use shared_events::{CancelReason, DeliveryRequested, Envelope, OrderCanceled, Topic};
use test_stack::{AsUser, RunningApp, TestDatabase};
use uuid::Uuid;

pub const CUSTOMER: &str = "alice";
pub const ADDRESS: &str = "Seoul, Jongno-gu 1";

pub struct TestApp {
    pub app: RunningApp,
    pub db: TestDatabase,
    pub kafka: KafkaSettings,
}

pub async fn spawn_app() -> TestApp {
    let db = TestDatabase::create().await;
    let kafka = test_stack::kafka("delivery").await;
    let settings = Settings {
        service: test_stack::service_settings(&db, &kafka),
    };
    let app = RunningApp::start(delivery_service::build(settings).await.unwrap()).await;
    TestApp { app, db, kafka }
}

/// What the order service publishes once the food is cooked.
pub fn delivery_requested(order_id: Uuid) -> Envelope {
    Envelope::new(
        "order",
        DeliveryRequested {
            order_id,
            customer_id: CUSTOMER.into(),
            store_id: Uuid::new_v4(),
            delivery_address: ADDRESS.into(),
        },
    )
}

pub fn order_canceled(order_id: Uuid) -> Envelope {
    Envelope::new(
        "order",
        OrderCanceled {
            order_id,
            customer_id: CUSTOMER.into(),
            store_id: Uuid::new_v4(),
            reason: CancelReason::Customer,
        },
    )
}

impl TestApp {
    /// Publishes `envelope` on its topic as its producer would.
    pub async fn publish(&self, envelope: &Envelope) {
        test_stack::send_raw(
            &self.kafka,
            envelope.event.topic(),
            &envelope.key(),
            &envelope.to_bytes(),
        )
        .await;
    }

    pub async fn deliveries_of(&self, order_id: Uuid, user: &str, role: &str) -> reqwest::Response {
        self.app
            .get(&format!("/deliveries?orderId={order_id}"))
            .as_user(user, role)
            .send()
            .await
            .unwrap()
    }

    /// The order's delivery as a rider sees it, if any.
    pub async fn delivery_of(&self, order_id: Uuid) -> Option<Value> {
        let list: Vec<Value> = self
            .deliveries_of(order_id, "ryan", "rider")
            .await
            .json()
            .await
            .unwrap();
        assert!(list.len() <= 1, "one delivery per order at most");
        list.into_iter().next()
    }

    /// Waits until the order's delivery has `status`; returns it.
    pub async fn wait_for_delivery(&self, order_id: Uuid, status: &str) -> Value {
        let what = format!("delivery of {order_id} {status}");
        test_stack::eventually(Duration::from_secs(30), &what, || async {
            self.delivery_of(order_id)
                .await
                .filter(|d| d["status"] == status)
        })
        .await
    }

    /// A started delivery for a new order: (order id, delivery id).
    pub async fn a_started_delivery(&self) -> (Uuid, Uuid) {
        let order_id = Uuid::new_v4();
        self.publish(&delivery_requested(order_id)).await;
        let delivery = self.wait_for_delivery(order_id, "Started").await;
        (order_id, delivery["id"].as_str().unwrap().parse().unwrap())
    }

    /// `POST /deliveries/{id}/{action}` as `user` with `role`.
    pub async fn act(
        &self,
        delivery_id: Uuid,
        action: &str,
        user: &str,
        role: &str,
    ) -> reqwest::Response {
        let mut request = self
            .app
            .post(&format!("/deliveries/{delivery_id}/{action}"))
            .as_user(user, role);
        if action == "accident" {
            request = request.json(&json!({ "reason": "scooter crash" }));
        }
        request.send().await.unwrap()
    }

    /// Waits until the consumer has recorded `count` distinct events.
    pub async fn wait_for_handled(&self, count: i64) {
        test_stack::wait_for_inbox(&self.db.pool, "delivery.deliveries", count).await;
    }

    /// Messages on the delivery topic (waits up to `timeout` for one more than `expected`).
    pub async fn delivery_events(&self, expected: usize, timeout: Duration) -> Vec<Value> {
        test_stack::read_events(&self.kafka, Topic::Delivery, expected, timeout).await
    }

    pub async fn finish(self) {
        self.app.stop().await;
        self.db.drop().await;
    }
}

pub fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}
