//! Starts the whole system for one test: seven services and the gateway, each PostgreSQL service
//! with its own database, mypage with its own MongoDB database, all on one topic prefix.

use std::num::NonZeroU32;
use std::time::Duration;

use backbone::KafkaSettings;
use gateway::auth::{JwtAlgorithm, JwtSettings};
use gateway::settings::{RateLimitSettings, UpstreamSettings, Upstreams};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use service_runtime::settings::HttpSettings;
use shared_events::Topic;
use test_stack::{RunningApp, TestDatabase};
use uuid::Uuid;

/// How long an event may take to cross the system before a test gives up. The suite runs its
/// systems side by side on one broker and, in CI, a two-core machine shared with the build: an
/// event has been seen to take over 30 s there at the busiest moment, in a run that was
/// otherwise right. Waiting longer costs nothing when the system is quick.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub struct System {
    pub kafka: KafkaSettings,
    pub gateway: RunningApp,
    pub order: RunningApp,
    pub payment: RunningApp,
    pub store: Option<RunningApp>,
    pub delivery: RunningApp,
    pub notification: RunningApp,
    pub mypage: RunningApp,
    pub review: RunningApp,
    pub store_settings: store_service::Settings,
    databases: Vec<TestDatabase>,
    pub order_db: sqlx::PgPool,
    mongodb_url: String,
    mypage_database: String,
}

fn http() -> HttpSettings {
    HttpSettings::loopback()
}

impl System {
    pub async fn start() -> Self {
        let kafka = test_stack::kafka("system").await;
        let mut databases = Vec::new();
        let settings_for = async |databases: &mut Vec<TestDatabase>| {
            let db = TestDatabase::create().await;
            let settings = test_stack::service_settings(&db, &kafka);
            databases.push(db);
            settings
        };
        let payment = RunningApp::start(
            payment_service::build(payment_service::Settings {
                service: settings_for(&mut databases).await,
                decline_above: 1_000_000,
                faults: Default::default(),
            })
            .await
            .unwrap(),
        )
        .await;
        let order_service = settings_for(&mut databases).await;
        let order_db = databases.last().unwrap().pool.clone();
        let order = order_service::build(order_service::Settings {
            service: order_service,
            payment_url: payment.address.clone(),
            // The flows, not payment's latency, are under test here: debug builds on a busy
            // machine may take longer than the seeds' 610 ms for a charge, which would fail
            // the order with a 503 (a customer's retry case, tested in the order service).
            breaker: order_service::payments::BreakerSettings {
                timeout: Duration::from_secs(5),
                ..Default::default()
            },
            repair: order_service::repair::RepairSettings {
                interval: Duration::from_secs(3600),
                margin: Duration::from_secs(1),
                give_up_after: Duration::from_secs(300),
            },
            grpc: order_service::grpc::GrpcSettings::loopback(),
            freeze_after_payment: false,
        })
        .await
        .unwrap();
        let order_grpc_url = format!("http://127.0.0.1:{}", order.port_of("grpc").unwrap());
        let order = RunningApp::start(order).await;
        let store_settings = store_service::Settings {
            service: settings_for(&mut databases).await,
        };
        let store =
            RunningApp::start(store_service::build(store_settings.clone()).await.unwrap()).await;
        let delivery = RunningApp::start(
            delivery_service::build(delivery_service::Settings {
                service: settings_for(&mut databases).await,
            })
            .await
            .unwrap(),
        )
        .await;
        let notification = RunningApp::start(
            notification_service::build(notification_service::Settings {
                service: settings_for(&mut databases).await,
                locale: notification_service::domain::Locale::En,
                channel: notification_service::settings::ChannelSettings::Log,
                retry: notification_service::settings::RetrySettings {
                    max_attempts: 3,
                    backoff: service_runtime::retry::Backoff::new(
                        Duration::from_millis(100),
                        Duration::from_secs(1),
                    ),
                },
            })
            .await
            .unwrap(),
        )
        .await;
        let review = RunningApp::start(
            review_service::build(review_service::Settings {
                service: settings_for(&mut databases).await,
                edit_window: Duration::from_millis(review_service::settings::EDIT_WINDOW_MS),
            })
            .await
            .unwrap(),
        )
        .await;
        let mongodb_url =
            std::env::var("MONGODB_URL").unwrap_or_else(|_| "mongodb://127.0.0.1:27017".to_owned());
        let mypage_database = format!("test_{}", Uuid::new_v4().simple());
        let mypage = RunningApp::start(
            mypage_service::build(mypage_service::Settings {
                http: http(),
                kafka: kafka.clone(),
                mongodb_url: mongodb_url.clone().into(),
                mongodb_database: mypage_database.clone(),
                request_timeout: Duration::from_secs(10),
                admission: test_stack::admission(),
                remembered: Default::default(),
            })
            .await
            .unwrap(),
        )
        .await;
        let upstream = |app: &RunningApp| UpstreamSettings {
            base_url: app.address.clone(),
            timeout: Duration::from_secs(10),
        };
        let gateway = RunningApp::start(
            gateway::build(gateway::Settings {
                http: http(),
                upstreams: Upstreams {
                    order: upstream(&order),
                    payment: upstream(&payment),
                    store: upstream(&store),
                    delivery: upstream(&delivery),
                    notification: upstream(&notification),
                    mypage: upstream(&mypage),
                    review: upstream(&review),
                },
                order_grpc_url,
                connect_timeout: Duration::from_secs(1),
                jwt: JwtSettings {
                    algorithm: JwtAlgorithm::Hs256,
                    secret: SecretString::from("a-secret-for-system-tests-0123456789"),
                    public_key_pem: SecretString::from(""),
                    previous_secret: SecretString::from(""),
                    previous_public_key_pem: SecretString::from(""),
                    issuer: "fooddelivery-gateway".to_owned(),
                    audience: "fooddelivery-api".to_owned(),
                    leeway_seconds: 30,
                },
                dev_tokens: true,
                rate_limit: RateLimitSettings {
                    per_second: NonZeroU32::new(10_000).unwrap(),
                    burst: NonZeroU32::new(10_000).unwrap(),
                },
                max_body_bytes: 64 * 1024,
                cors_origins: Vec::new(),
                admission: service_runtime::admission::AdmissionSettings::gateway(),
            })
            .await
            .unwrap(),
        )
        .await;
        Self {
            kafka,
            gateway,
            order,
            payment,
            store: Some(store),
            delivery,
            notification,
            mypage,
            review,
            store_settings,
            databases,
            order_db,
            mongodb_url,
            mypage_database,
        }
    }

    /// Someone signed in through the gateway with a development token.
    pub async fn user(&self, user_id: &str, role: &str) -> User {
        let response = self
            .gateway
            .post("/auth/dev-token")
            .json(&json!({ "userId": user_id, "role": role }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        User {
            token: body["accessToken"].as_str().unwrap().to_owned(),
            base: self.gateway.address.clone(),
            client: self.gateway.client.clone(),
        }
    }

    pub async fn stop_store(&mut self) {
        self.store.take().unwrap().stop().await;
    }

    /// Starts the store service again on its database and topics (the gateway still points at
    /// the old port, so tests read the new one directly).
    pub async fn restart_store(&mut self) -> &RunningApp {
        let store = RunningApp::start(
            store_service::build(self.store_settings.clone())
                .await
                .unwrap(),
        )
        .await;
        self.store.insert(store)
    }

    /// A store with one menu item (fried chicken, 18,000 won), known to the order service.
    pub async fn open_store(&self, owner: &User) -> (String, String) {
        let (status, store) = owner
            .send(
                Method::POST,
                "/stores",
                Some(json!({ "name": format!("Chicken House {}", Uuid::new_v4()) })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{store}");
        let store_id = store["id"].as_str().unwrap().to_owned();
        let (status, item) = owner
            .send(
                Method::POST,
                &format!("/stores/{store_id}/menu"),
                Some(json!({ "name": "Fried chicken", "price": 18_000 })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{item}");
        let item_id = item["id"].as_str().unwrap().to_owned();
        let item_uuid: Uuid = item_id.parse().unwrap();
        test_stack::eventually(PATIENCE, "the order service's menu replica", || async {
            let known: i64 =
                sqlx::query_scalar("select count(*) from menu_item where menu_item_id = $1")
                    .bind(item_uuid)
                    .fetch_one(&self.order_db)
                    .await
                    .ok()?;
            (known == 1).then_some(())
        })
        .await;
        (store_id, item_id)
    }

    /// Every event published for `order_id` so far, as `type` names, read from all topics.
    pub async fn events_of(&self, order_id: &str) -> Vec<String> {
        let mut types = Vec::new();
        for topic in [Topic::Order, Topic::Payment, Topic::Store, Topic::Delivery] {
            use rdkafka::Message;
            for message in
                test_stack::read_topic(&self.kafka, topic, usize::MAX, Duration::from_secs(3)).await
            {
                let envelope: Value = serde_json::from_slice(message.payload().unwrap()).unwrap();
                if envelope["orderId"] == order_id {
                    types.push(envelope["type"].as_str().unwrap().to_owned());
                }
            }
        }
        types.sort();
        types
    }

    pub async fn finish(self) {
        self.gateway.stop().await;
        for app in [
            self.order,
            self.payment,
            self.delivery,
            self.notification,
            self.mypage,
            self.review,
        ] {
            app.stop().await;
        }
        if let Some(store) = self.store {
            store.stop().await;
        }
        for db in self.databases {
            db.drop().await;
        }
        let mongo = mongodb::Client::with_uri_str(&self.mongodb_url)
            .await
            .unwrap();
        mongo.database(&self.mypage_database).drop().await.unwrap();
    }
}

/// A signed-in caller of the public API.
pub struct User {
    token: String,
    base: String,
    client: reqwest::Client,
}

impl User {
    /// The user's bearer token (for a gRPC call's `authorization` metadata).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// A request with this user's token, to add anything to (headers, a raw body).
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.send(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    pub async fn post(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::POST, path, None).await
    }

    /// Places an order of one chicken; asserts 201 and returns the order's id.
    pub async fn place(&self, store_id: &str, item_id: &str) -> String {
        let (status, order) = self
            .send(
                Method::POST,
                "/orders",
                Some(json!({
                    "storeId": store_id,
                    "items": [{ "menuItemId": item_id, "quantity": 1 }],
                    "deliveryAddress": "Seoul, Gangnam-gu",
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{order}");
        order["id"].as_str().unwrap().to_owned()
    }

    /// Waits until the owner's list of `store_id`'s orders shows `order_id`; returns the list.
    pub async fn wait_for_store_order(&self, store_id: &str, order_id: &str) -> Value {
        self.wait_for(
            &format!("/store-orders?storeId={store_id}"),
            "the store order",
            |l| find(l, "orderId", order_id).is_some(),
        )
        .await
    }

    /// As the store's owner: waits for `order_id` to be received, then accepts, cooks and
    /// finishes it, each step answered 200.
    pub async fn cook(&self, store_id: &str, order_id: &str) {
        self.wait_for(
            &format!("/store-orders?storeId={store_id}"),
            "the store order",
            |l| status_of(l, "orderId", order_id).as_deref() == Some("Received"),
        )
        .await;
        for step in ["accept", "start-cooking", "finish-cooking"] {
            let (status, body) = self.post(&format!("/store-orders/{order_id}/{step}")).await;
            assert_eq!(status, StatusCode::OK, "{step}: {body}");
        }
    }

    /// As a rider: waits for `order_id`'s delivery to start, then completes it (200).
    pub async fn deliver(&self, order_id: &str) {
        let started = self
            .wait_for(
                &format!("/deliveries?orderId={order_id}"),
                "the delivery",
                |l| status_of(l, "orderId", order_id).as_deref() == Some("Started"),
            )
            .await;
        let delivery_id = started[0]["id"].as_str().unwrap();
        let (status, _) = self
            .post(&format!("/deliveries/{delivery_id}/complete"))
            .await;
        assert_eq!(status, StatusCode::OK);
    }

    /// Waits until the order's payment reads `status`.
    pub async fn wait_for_payment(&self, order_id: &str, status: &str) {
        self.wait_for(
            &format!("/payments?orderId={order_id}"),
            &format!("payment {status}"),
            |l| find(l, "orderId", order_id).is_some_and(|p| p["status"] == status),
        )
        .await;
    }

    /// Polls `path` until `check` accepts the body; returns it.
    pub async fn wait_for(&self, path: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        test_stack::eventually(PATIENCE, what, || async {
            let (status, body) = self.send(Method::GET, path, None).await;
            (status == StatusCode::OK && check(&body)).then_some(body)
        })
        .await
    }
}

/// The `status` of the entry of a JSON array whose `key` equals `id`.
pub fn status_of(list: &Value, key: &str, id: &str) -> Option<String> {
    find(list, key, id)
        .and_then(|v| v["status"].as_str())
        .map(str::to_owned)
}

/// The entry of a JSON array whose `key` equals `value`.
pub fn find<'a>(list: &'a Value, key: &str, value: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|v| v[key] == value)
}
