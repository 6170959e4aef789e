use std::time::Duration;

use backbone::KafkaSettings;
use payment_service::Settings;
use payment_service::faults::FaultSettings;
use serde_json::{Value, json};
use shared_events::{CancelReason, Envelope, OrderCanceled, Topic};
use test_stack::{AsUser, RunningApp, TestDatabase};
use uuid::Uuid;

pub struct TestApp {
    pub app: RunningApp,
    pub db: TestDatabase,
    pub kafka: KafkaSettings,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with_database_url(None).await
}

/// Like [`spawn_app`], connecting to the database through `database_url` when given (a proxy).
pub async fn spawn_app_with_database_url(database_url: Option<String>) -> TestApp {
    let db = TestDatabase::create().await;
    let kafka = test_stack::kafka("payment").await;
    let mut service = test_stack::service_settings(&db, &kafka);
    if let Some(url) = database_url {
        service.database.url = url.into();
    }
    let settings = Settings {
        service,
        decline_above: 1_000_000,
        faults: FaultSettings::default(),
    };
    let app = RunningApp::start(payment_service::build(settings).await.unwrap()).await;
    TestApp { app, db, kafka }
}

impl TestApp {
    /// PUT /admin/faults as `role`.
    pub async fn set_faults(&self, faults: &Value, role: &str) -> reqwest::Response {
        self.app
            .client
            .put(self.app.url("/admin/faults"))
            .as_user("root", role)
            .json(faults)
            .send()
            .await
            .unwrap()
    }

    pub async fn pay(&self, order_id: Uuid, customer: &str, amount: i64) -> reqwest::Response {
        self.app
            .post("/payments")
            .as_user(customer, "customer")
            .json(&json!({ "orderId": order_id, "customerId": customer, "amount": amount }))
            .send()
            .await
            .unwrap()
    }

    pub async fn payments_of(&self, order_id: Uuid, user: &str, role: &str) -> Vec<Value> {
        self.app
            .get(&format!("/payments?orderId={order_id}"))
            .as_user(user, role)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Publishes `OrderCanceled` as the order service would.
    pub async fn cancel_order(&self, order_id: Uuid, customer: &str) -> Envelope {
        let envelope = Envelope::new(
            "order",
            OrderCanceled {
                order_id,
                customer_id: customer.to_owned(),
                store_id: Uuid::new_v4(),
                reason: CancelReason::Customer,
            },
        );
        self.redeliver(&envelope).await;
        envelope
    }

    pub async fn redeliver(&self, envelope: &Envelope) {
        test_stack::send_raw(
            &self.kafka,
            Topic::Order,
            &envelope.key(),
            &envelope.to_bytes(),
        )
        .await;
    }

    /// Waits until the order's payment has `status`.
    pub async fn wait_for_status(&self, order_id: Uuid, customer: &str, status: &str) {
        test_stack::eventually(
            Duration::from_secs(20),
            &format!("payment {status}"),
            || async {
                let payments = self.payments_of(order_id, customer, "customer").await;
                (payments.first()?["status"] == status).then_some(())
            },
        )
        .await;
    }

    /// Every message on the payment topic so far (waits up to `timeout` for `expected`).
    pub async fn payment_events(&self, expected: usize, timeout: Duration) -> Vec<Value> {
        test_stack::read_events(&self.kafka, Topic::Payment, expected, timeout).await
    }

    pub async fn finish(self) {
        self.app.stop().await;
        self.db.drop().await;
    }
}
