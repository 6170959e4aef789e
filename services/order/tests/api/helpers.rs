use std::time::Duration;

use backbone::KafkaSettings;
use order_service::payments::BreakerSettings;
use order_service::repair::RepairSettings;
use payment_service::faults::FaultSettings;
use reqwest::StatusCode;
use serde_json::{Value, json};
use service_runtime::admission::AdmissionSettings;
use shared_events::{
    CookingStarted, Envelope, Event, MenuItemRegistered, StoreOrderAccepted, Topic,
};
use test_stack::{AsUser, RunningApp, TcpProxy, TestDatabase};
use uuid::Uuid;

pub struct TestApp {
    pub order: RunningApp,
    /// The order service's gRPC port.
    pub grpc_port: u16,
    pub payment: RunningApp,
    /// Between the order service and the payment service, to cut the line.
    pub payment_line: TcpProxy,
    pub order_db: TestDatabase,
    pub payment_db: TestDatabase,
    pub kafka: KafkaSettings,
    pub store_id: Uuid,
    pub chicken: Uuid,
}

pub struct Options {
    pub breaker: BreakerSettings,
    pub decline_above: i64,
    /// The order service's admission control (POST /orders is marked new work on top); roomy
    /// unless a test is about overload.
    pub admission: AdmissionSettings,
    pub repair: RepairSettings,
    /// Every attempt stops dead between the payment's answer and its record.
    pub freeze_after_payment: bool,
}

impl Options {
    /// One try per payment: a test that counts calls, or that needs a late answer to stay
    /// unanswered (a second try would find the charge made).
    pub fn one_try() -> Self {
        let defaults = Self::default();
        Self {
            breaker: BreakerSettings {
                max_attempts: 1,
                ..defaults.breaker
            },
            ..defaults
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            breaker: BreakerSettings {
                open_for: Duration::from_secs(2),
                ..BreakerSettings::default()
            },
            decline_above: 1_000_000,
            admission: test_stack::admission(),
            // Only the tests that ask for it repair.
            repair: RepairSettings {
                interval: Duration::from_secs(3600),
                margin: Duration::from_secs(1),
                give_up_after: Duration::from_secs(300),
            },
            freeze_after_payment: false,
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    let kafka = test_stack::kafka("order").await;
    let payment_db = TestDatabase::create().await;
    let payment = payment_service::build(payment_service::Settings {
        service: test_stack::service_settings(&payment_db, &kafka),
        decline_above: options.decline_above,
        faults: FaultSettings::default(),
    })
    .await
    .unwrap();
    let payment = RunningApp::start(payment).await;
    let payment_line = TcpProxy::start(&format!("127.0.0.1:{}", payment.port)).await;

    let order_db = TestDatabase::create().await;
    let (order, grpc_port) = start_order(&order_db, &kafka, payment_line.port, &options).await;
    let app = TestApp {
        order,
        grpc_port,
        payment,
        payment_line,
        order_db,
        payment_db,
        kafka,
        store_id: Uuid::new_v4(),
        chicken: Uuid::new_v4(),
    };
    app.register_menu_item(app.chicken, "Fried chicken", 18_000)
        .await;
    app.wait_until_orderable().await;
    app
}

/// The order service on `order_db`, calling payment on `payment_port`, and its gRPC port.
async fn start_order(
    order_db: &TestDatabase,
    kafka: &KafkaSettings,
    payment_port: u16,
    options: &Options,
) -> (RunningApp, u16) {
    let mut service = test_stack::service_settings(order_db, kafka);
    service.admission = options.admission.clone();
    let order = order_service::build(order_service::Settings {
        service,
        payment_url: format!("http://127.0.0.1:{payment_port}"),
        breaker: options.breaker,
        repair: options.repair,
        grpc: order_service::grpc::GrpcSettings::loopback(),
        freeze_after_payment: options.freeze_after_payment,
    })
    .await
    .unwrap();
    let grpc_port = order.port_of("grpc").unwrap();
    (RunningApp::start(order).await, grpc_port)
}

impl TestApp {
    /// Kills the order service as `kill -9` would (nothing of it runs on: its in-flight
    /// requests, consumers, relay and repair stop where they are), then starts a new one on the
    /// same database and topics.
    pub async fn restart_order_killed(&mut self, options: &Options) {
        self.order.task.abort();
        self.order.shutdown.cancel();
        (self.order, self.grpc_port) =
            start_order(&self.order_db, &self.kafka, self.payment_line.port, options).await;
    }

    /// Publishes a catalog event as the store service would.
    pub async fn register_menu_item(&self, id: Uuid, name: &str, price: i64) {
        self.publish(
            Topic::Store,
            MenuItemRegistered {
                store_id: self.store_id,
                menu_item_id: id,
                name: name.into(),
                price,
                available: true,
            },
        )
        .await;
    }

    pub async fn publish(&self, topic: Topic, event: impl Into<Event>) -> Envelope {
        let envelope = Envelope::new("test", event);
        test_stack::send_raw(&self.kafka, topic, &envelope.key(), &envelope.to_bytes()).await;
        envelope
    }

    /// The store's events for `order_id` (of alice's, at the test store) up to cooking:
    /// `StoreOrderAccepted`, then `CookingStarted`.
    pub async fn publish_accepted_and_cooking(&self, order_id: Uuid) {
        let customer_id = "alice".to_owned();
        self.publish(
            Topic::Store,
            StoreOrderAccepted {
                order_id,
                store_id: self.store_id,
                customer_id: customer_id.clone(),
            },
        )
        .await;
        self.publish(
            Topic::Store,
            CookingStarted {
                order_id,
                store_id: self.store_id,
                customer_id,
            },
        )
        .await;
    }

    /// Waits until the replica knows the chicken (an order of it stops being 422).
    async fn wait_until_orderable(&self) {
        test_stack::eventually(Duration::from_secs(30), "the menu replica", || async {
            let count: i64 =
                sqlx::query_scalar("select count(*) from menu_item where menu_item_id = $1")
                    .bind(self.chicken)
                    .fetch_one(&self.order_db.pool)
                    .await
                    .ok()?;
            (count == 1).then_some(())
        })
        .await;
    }

    pub fn order_body(&self, quantity: i64) -> Value {
        json!({
            "storeId": self.store_id,
            "items": [{ "menuItemId": self.chicken, "quantity": quantity }],
            "deliveryAddress": "Seoul, Gangnam-gu",
        })
    }

    pub async fn place(&self, customer: &str, body: &Value) -> reqwest::Response {
        self.order
            .post("/orders")
            .as_user(customer, "customer")
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Places an order under an `Idempotency-Key`.
    pub async fn place_keyed(&self, customer: &str, key: &str, body: &Value) -> reqwest::Response {
        self.order
            .post("/orders")
            .as_user(customer, "customer")
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Places an order of `quantity` chickens for alice and returns it (asserting 201).
    pub async fn place_ok(&self, quantity: i64) -> Value {
        let response = self.place("alice", &self.order_body(quantity)).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    pub async fn get_order(&self, customer: &str, id: &str) -> reqwest::Response {
        self.order
            .get(&format!("/orders/{id}"))
            .as_user(customer, "customer")
            .send()
            .await
            .unwrap()
    }

    pub async fn orders_of(&self, customer: &str) -> Vec<Value> {
        self.order
            .get("/orders")
            .as_user(customer, "customer")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn wait_for_order_status(&self, id: &str, status: &str) -> Value {
        test_stack::eventually(
            Duration::from_secs(20),
            &format!("order {status}"),
            || async {
                let order: Value = self.get_order("alice", id).await.json().await.ok()?;
                (order["status"] == status).then_some(order)
            },
        )
        .await
    }

    pub async fn payment_of(&self, order_id: &str) -> Option<Value> {
        let payments: Vec<Value> = self
            .payment
            .get(&format!("/payments?orderId={order_id}"))
            .as_user("ops", "admin")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        payments.into_iter().next()
    }

    pub async fn wait_for_payment_status(&self, order_id: &str, status: &str) {
        test_stack::eventually(
            Duration::from_secs(20),
            &format!("payment {status}"),
            || async { (self.payment_of(order_id).await?["status"] == status).then_some(()) },
        )
        .await;
    }

    pub async fn set_payment_faults(&self, delay_ms: u64, failure_rate: f64) {
        let response = self
            .payment
            .client
            .put(self.payment.url("/admin/faults"))
            .as_user("ops", "admin")
            .json(&json!({ "delay": { "minMs": delay_ms, "maxMs": delay_ms }, "failureRate": failure_rate }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// The events on the order topic (waits up to `timeout` for more than `expected`).
    pub async fn order_events(&self, expected: usize, timeout: Duration) -> Vec<Value> {
        test_stack::read_events(&self.kafka, Topic::Order, expected, timeout).await
    }

    /// Payments the payment service has made (its own table: it saw that many charges).
    pub async fn payment_count(&self) -> i64 {
        sqlx::query_scalar("select count(*) from payment")
            .fetch_one(&self.payment_db.pool)
            .await
            .unwrap()
    }

    pub async fn finish(self) {
        self.order.stop().await;
        self.payment.stop().await;
        self.order_db.drop().await;
        self.payment_db.drop().await;
    }
}
