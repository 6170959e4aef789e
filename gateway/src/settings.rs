//! Configuration, from the environment: where the services are, how long each may take, how
//! tokens are checked, and the limits the gateway enforces.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `HOST` | `0.0.0.0` | the address the gateway binds |
//! | `PORT` | `8088` | the gateway's port (REST and gRPC; see `ports.tsv`) |
//! | `ORDER_URL` | `http://127.0.0.1:8081` | order service base URL |
//! | `PAYMENT_URL` | `http://127.0.0.1:8082` | payment service base URL |
//! | `STORE_URL` | `http://127.0.0.1:8083` | store service base URL |
//! | `DELIVERY_URL` | `http://127.0.0.1:8084` | delivery service base URL |
//! | `NOTIFICATION_URL` | `http://127.0.0.1:8085` | notification service base URL |
//! | `MYPAGE_URL` | `http://127.0.0.1:8086` | mypage service base URL |
//! | `REVIEW_URL` | `http://127.0.0.1:8087` | review service base URL |
//! | `ORDER_GRPC_URL` | `http://127.0.0.1:9081` | the order service's gRPC server (gRPC calls to the gateway's port go there) |
//! | `GATEWAY_UPSTREAM_TIMEOUT_MS` | `5000` | a request's time budget on the other services: the service is told the time left (`x-request-budget-ms`, 100 ms less) and waited for until then; a client's own smaller `x-request-budget-ms` wins |
//! | `GATEWAY_ORDER_TIMEOUT_MS` | `5000` | the same for the order service, which itself waits on payment (at most about 0.6 s, behind its breaker) |
//! | `GATEWAY_CONNECT_TIMEOUT_MS` | `1000` | time to open a connection to an upstream |
//! | `JWT_ALGORITHM` | `HS256` | the one accepted algorithm: `HS256` or `RS256` |
//! | `JWT_SECRET` | — | HS256 key, at least 32 bytes (required with HS256) |
//! | `JWT_PUBLIC_KEY_PEM` | — | RS256 public key, PEM (required with RS256) |
//! | `JWT_PREVIOUS_SECRET` | — | with HS256, the key `JWT_SECRET` replaced: tokens signed with it are still accepted, none is signed with it; at least 32 bytes; set only while rotating (docs/operations.md) |
//! | `JWT_PREVIOUS_PUBLIC_KEY_PEM` | — | with RS256, the public key `JWT_PUBLIC_KEY_PEM` replaced, still accepted; set only while rotating |
//! | `JWT_ISSUER` | `fooddelivery-gateway` | required `iss` claim |
//! | `JWT_AUDIENCE` | `fooddelivery-api` | required `aud` claim |
//! | `JWT_LEEWAY_SECONDS` | `30` | clock skew allowed on `exp` |
//! | `AUTH_DEV_TOKENS` | `false` | serve `POST /auth/dev-token` (HS256 only) |
//! | `GATEWAY_RATE_LIMIT_PER_SECOND` | `1000` | sustained requests per second per user (or client IP); high enough for the siege scenarios, which share one token across 100 clients |
//! | `GATEWAY_RATE_LIMIT_BURST` | `2000` | requests a user may send at once |
//! | `GATEWAY_MAX_BODY_BYTES` | `65536` | largest request body |
//! | `GATEWAY_CORS_ORIGINS` | empty | comma-separated allowed browser origins; empty = no CORS |
//! | `ADMISSION_*` | see `service_runtime::admission::AdmissionSettings` | the gateway's limiter per service (defaults: limit 256–512, starting at 256) |

use std::num::NonZeroU32;
use std::time::Duration;

use secrecy::SecretString;
use service_runtime::admission::AdmissionSettings;
use service_runtime::settings::{HttpSettings, ports, secret, string, var};

use crate::auth::{JwtAlgorithm, JwtSettings};
use crate::rules::Upstream;

#[derive(Debug, Clone)]
pub struct Settings {
    pub http: HttpSettings,
    pub upstreams: Upstreams,
    /// The order service's gRPC server.
    pub order_grpc_url: String,
    pub connect_timeout: Duration,
    pub jwt: JwtSettings,
    pub dev_tokens: bool,
    pub rate_limit: RateLimitSettings,
    pub max_body_bytes: usize,
    pub cors_origins: Vec<String>,
    pub admission: AdmissionSettings,
}

/// One upstream service: its base URL (no trailing slash) and how long it may take.
#[derive(Debug, Clone)]
pub struct UpstreamSettings {
    pub base_url: String,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Upstreams {
    pub order: UpstreamSettings,
    pub payment: UpstreamSettings,
    pub store: UpstreamSettings,
    pub delivery: UpstreamSettings,
    pub notification: UpstreamSettings,
    pub mypage: UpstreamSettings,
    pub review: UpstreamSettings,
}

impl Upstreams {
    pub fn get(&self, upstream: Upstream) -> &UpstreamSettings {
        match upstream {
            Upstream::Order => &self.order,
            Upstream::Payment => &self.payment,
            Upstream::Store => &self.store,
            Upstream::Delivery => &self.delivery,
            Upstream::Notification => &self.notification,
            Upstream::Mypage => &self.mypage,
            Upstream::Review => &self.review,
        }
    }

    /// The longest route timeout: the gateway's own request timeout must exceed it.
    pub fn longest_timeout(&self) -> Duration {
        Upstream::ALL
            .iter()
            .map(|u| self.get(*u).timeout)
            .max()
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RateLimitSettings {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        let timeout = ms(var("GATEWAY_UPSTREAM_TIMEOUT_MS", 5_000)?);
        let upstream = |variable: &str, port: u16, timeout: Duration| UpstreamSettings {
            base_url: base_url(&string(variable, &ports::local_url(port))),
            timeout,
        };
        let algorithm: JwtAlgorithm = var("JWT_ALGORITHM", JwtAlgorithm::Hs256)?;
        Ok(Self {
            http: HttpSettings::from_env(ports::GATEWAY)?,
            upstreams: Upstreams {
                order: upstream(
                    "ORDER_URL",
                    ports::ORDER,
                    ms(var("GATEWAY_ORDER_TIMEOUT_MS", 5_000)?),
                ),
                payment: upstream("PAYMENT_URL", ports::PAYMENT, timeout),
                store: upstream("STORE_URL", ports::STORE, timeout),
                delivery: upstream("DELIVERY_URL", ports::DELIVERY, timeout),
                notification: upstream("NOTIFICATION_URL", ports::NOTIFICATION, timeout),
                mypage: upstream("MYPAGE_URL", ports::MYPAGE, timeout),
                review: upstream("REVIEW_URL", ports::REVIEW, timeout),
            },
            order_grpc_url: base_url(&string(
                "ORDER_GRPC_URL",
                &ports::local_url(ports::ORDER_GRPC),
            )),
            connect_timeout: ms(var("GATEWAY_CONNECT_TIMEOUT_MS", 1_000)?),
            jwt: JwtSettings {
                algorithm,
                secret: secret("JWT_SECRET", ""),
                public_key_pem: SecretString::from(string("JWT_PUBLIC_KEY_PEM", "")),
                previous_secret: secret("JWT_PREVIOUS_SECRET", ""),
                previous_public_key_pem: SecretString::from(string(
                    "JWT_PREVIOUS_PUBLIC_KEY_PEM",
                    "",
                )),
                issuer: string("JWT_ISSUER", "fooddelivery-gateway"),
                audience: string("JWT_AUDIENCE", "fooddelivery-api"),
                leeway_seconds: var("JWT_LEEWAY_SECONDS", 30)?,
            },
            dev_tokens: var("AUTH_DEV_TOKENS", false)?,
            rate_limit: RateLimitSettings {
                per_second: var("GATEWAY_RATE_LIMIT_PER_SECOND", nonzero(1000))?,
                burst: var("GATEWAY_RATE_LIMIT_BURST", nonzero(2000))?,
            },
            max_body_bytes: var("GATEWAY_MAX_BODY_BYTES", 65_536)?,
            cors_origins: string("GATEWAY_CORS_ORIGINS", "")
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::to_owned)
                .collect(),
            admission: AdmissionSettings::from_env(AdmissionSettings::gateway())?,
        })
    }
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

/// `http://order:8081/` and `http://order:8081` name the same base.
pub fn base_url(url: &str) -> String {
    url.trim().trim_end_matches('/').to_owned()
}
