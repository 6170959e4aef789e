//! The API gateway: the single public entry of the platform. It checks the caller's token,
//! forwards the caller's identity to the service that owns the route, and keeps callers within
//! their role and their rate, without holding any data of its own.

pub mod admission;
pub mod auth;
pub mod console;
pub mod dev_token;
pub mod forwarded;
pub mod grpc;
pub mod http;
pub mod live;
pub mod openapi;
pub mod ops;
pub mod probes;
pub mod proxy;
pub mod rate_limit;
pub mod rules;
pub mod settings;
pub mod shedding;
pub mod state;

pub use settings::Settings;

use std::time::Duration;

use anyhow::bail;
use service_runtime::{Application, Readiness};
use tokio_util::sync::CancellationToken;

use crate::admission::EntryAdmission;
use crate::auth::{Authenticator, JwtAlgorithm};
use crate::http::HttpOptions;
use crate::proxy::Proxy;
use crate::rate_limit::RateLimiter;
use crate::state::{Gateway, GrpcProxy, Streams};

/// Time the gateway's own request timeout leaves beyond the slowest route's, so that a slow
/// service is reported as a 504 by the route rather than cut by the outer timeout.
const REQUEST_TIMEOUT_MARGIN: Duration = Duration::from_secs(2);

/// Builds the gateway, bound and ready to run.
pub async fn build(settings: Settings) -> anyhow::Result<Application> {
    if settings.dev_tokens && settings.jwt.algorithm != JwtAlgorithm::Hs256 {
        bail!("AUTH_DEV_TOKENS=true needs JWT_ALGORITHM=HS256 (the gateway holds no private key)");
    }
    let shutdown = CancellationToken::new();
    let limiter = RateLimiter::new(settings.rate_limit);
    let sweeper = limiter.spawn_sweeper(shutdown.clone());
    let gateway = Gateway {
        auth: Authenticator::new(&settings.jwt)?,
        limiter,
        admission: EntryAdmission::new(settings.admission.clone(), &settings.upstreams),
        proxy: Proxy::new(&settings)?,
        grpc: GrpcProxy::new(&settings.order_grpc_url, settings.connect_timeout)?,
        live: Streams::new(live::MAX_STREAMS),
        probes: probes::Probes::new(&settings.upstreams)?,
    };
    // Ready while it runs: one service being down must not take the whole entry point away.
    let readiness = Readiness::new(shutdown.clone());
    let options = HttpOptions {
        dev_tokens: settings.dev_tokens,
        max_body_bytes: settings.max_body_bytes,
        cors_origins: settings.cors_origins.clone(),
        request_timeout: settings.upstreams.longest_timeout() + REQUEST_TIMEOUT_MARGIN,
    };
    let router = http::router(gateway, readiness, options)?;
    Application::bind(&settings.http, router, shutdown, vec![sweeper]).await
}
