use std::num::NonZeroU32;
use std::time::Duration;

use gateway::Settings;
use gateway::auth::{JwtAlgorithm, JwtSettings};
use gateway::settings::{RateLimitSettings, UpstreamSettings, Upstreams};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use payment_service::faults::FaultSettings;
use reqwest::{RequestBuilder, Response, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use service_runtime::settings::HttpSettings;
use test_stack::{RunningApp, TestDatabase};

pub const SECRET: &str = "a-secret-for-tests-only-0123456789abcdef";
pub const ISSUER: &str = "fooddelivery-gateway";
pub const AUDIENCE: &str = "fooddelivery-api";

/// A URL where nothing listens: connections are refused at once, as with a stopped service.
pub fn closed_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// Gateway settings for a test: every service at a closed port, development tokens on.
pub fn settings() -> Settings {
    let closed = closed_url();
    let upstream = || UpstreamSettings {
        base_url: closed.clone(),
        timeout: Duration::from_secs(5),
    };
    Settings {
        http: HttpSettings::loopback(),
        upstreams: Upstreams {
            order: upstream(),
            payment: upstream(),
            store: upstream(),
            delivery: upstream(),
            notification: upstream(),
            mypage: upstream(),
            review: upstream(),
        },
        order_grpc_url: closed.clone(),
        connect_timeout: Duration::from_secs(1),
        jwt: JwtSettings {
            algorithm: JwtAlgorithm::Hs256,
            secret: SecretString::from(SECRET),
            public_key_pem: SecretString::from(""),
            previous_secret: SecretString::from(""),
            previous_public_key_pem: SecretString::from(""),
            issuer: ISSUER.to_owned(),
            audience: AUDIENCE.to_owned(),
            leeway_seconds: 30,
        },
        dev_tokens: true,
        rate_limit: RateLimitSettings {
            per_second: NonZeroU32::new(200).unwrap(),
            burst: NonZeroU32::new(400).unwrap(),
        },
        max_body_bytes: 64 * 1024,
        cors_origins: Vec::new(),
        admission: service_runtime::admission::AdmissionSettings::gateway(),
    }
}

pub async fn spawn_gateway(settings: Settings) -> RunningApp {
    RunningApp::start(gateway::build(settings).await.unwrap()).await
}

/// A real payment service with its own database and topics.
pub struct Payment {
    pub app: RunningApp,
    pub db: TestDatabase,
}

impl Payment {
    pub async fn spawn() -> Self {
        let db = TestDatabase::create().await;
        let kafka = test_stack::kafka("payment").await;
        let settings = payment_service::Settings {
            service: test_stack::service_settings(&db, &kafka),
            decline_above: 1_000_000,
            faults: FaultSettings::default(),
        };
        let app = RunningApp::start(payment_service::build(settings).await.unwrap()).await;
        Self { app, db }
    }

    pub fn upstream(&self, timeout: Duration) -> UpstreamSettings {
        UpstreamSettings {
            base_url: self.app.address.clone(),
            timeout,
        }
    }

    pub async fn finish(self) {
        self.app.stop().await;
        self.db.drop().await;
    }
}

/// The gateway in front of a running payment service (everything else at closed ports).
pub async fn spawn_with_payment(mut settings: Settings) -> (RunningApp, Payment) {
    let payment = Payment::spawn().await;
    settings.upstreams.payment = payment.upstream(Duration::from_secs(5));
    (spawn_gateway(settings).await, payment)
}

pub fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Valid claims for `user` with `role`.
pub fn claims(user: &str, role: &str) -> Value {
    json!({ "sub": user, "role": role, "iss": ISSUER, "aud": AUDIENCE, "iat": now(), "exp": now() + 600 })
}

pub fn sign(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// A valid token.
pub fn token(user: &str, role: &str) -> String {
    sign(&claims(user, role), SECRET)
}

pub trait Bearer {
    fn bearer(self, token: &str) -> Self;
}

impl Bearer for RequestBuilder {
    fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }
}

/// Asserts a problem+json response with `status` and `code`; returns the body.
pub async fn assert_problem(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status.as_u16());
    body
}

/// Creates a payment for `order_id` of `customer` directly on the payment service.
pub async fn pay(payment: &Payment, order_id: uuid::Uuid, customer: &str) -> Value {
    use test_stack::AsUser;
    let response = payment
        .app
        .post("/payments")
        .as_user(customer, "customer")
        .json(&json!({ "orderId": order_id, "customerId": customer, "amount": 18_000 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}
