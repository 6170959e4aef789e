//! The gateway's HTTP surface: the public route prefixes, the development token endpoint, and
//! the checks every proxied request passes in order (identity headers removed, token, rate
//! limit, role), inside the shared stack (request ids, trace context, metrics, 404 problem).
//! gRPC calls, on the same port, are taken aside first ([`crate::grpc`]).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{Extensions, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use service_runtime::identity::{USER_ID_HEADER, USER_ROLE_HEADER};
use service_runtime::{Problem, Readiness};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::admission::EntryAdmission;
use crate::auth::Authenticator;
use crate::grpc::{self, GrpcProxy};
use crate::proxy::{Proxy, body_too_large};
use crate::rate_limit::{Caller, RateLimiter};
use crate::rules::{self, ADMIN_PREFIX, TABLE};
use crate::{dev_token, openapi};

#[derive(Clone)]
pub struct Gateway {
    pub auth: Authenticator,
    pub limiter: RateLimiter,
    pub admission: EntryAdmission,
    pub proxy: Proxy,
    pub grpc: GrpcProxy,
}

pub struct HttpOptions {
    pub dev_tokens: bool,
    pub max_body_bytes: usize,
    pub cors_origins: Vec<String>,
    pub request_timeout: Duration,
}

pub fn router(
    gateway: Gateway,
    readiness: Readiness,
    options: HttpOptions,
) -> anyhow::Result<Router> {
    let mut routes = Router::new().route("/openapi.json", get(openapi::serve));
    for prefix in TABLE.iter().map(|r| r.prefix).chain([ADMIN_PREFIX]) {
        routes = routes
            .route(prefix, any(forward))
            .route(&format!("{prefix}/{{*rest}}"), any(forward));
    }
    if options.dev_tokens {
        routes = routes.route("/auth/dev-token", post(dev_token::issue));
    }
    let max_body = options.max_body_bytes;
    let grpc = gateway.clone();
    let app = service_runtime::http::app(
        routes.with_state(gateway),
        readiness,
        options.request_timeout,
    )
    .layer(DefaultBodyLimit::max(max_body))
    .layer(middleware::from_fn(move |request, next| {
        refuse_declared_oversize(max_body, request, next)
    }))
    .layer(middleware::from_fn(strip_identity_headers));
    let app = match cors(&options.cors_origins)? {
        Some(layer) => app.layer(layer),
        None => app,
    };
    // Outermost: gRPC calls take their own way before any of the REST stack.
    Ok(app.layer(middleware::from_fn_with_state(grpc, grpc::take_grpc)))
}

/// The methods a request may be forwarded with.
const FORWARDED_METHODS: [Method; 8] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
    Method::TRACE,
];

/// Every proxied request: token, then the caller's rate limit, then the role rules, then a slot
/// on the service within the route's time budget.
async fn forward(State(gateway): State<Gateway>, request: Request) -> Response {
    let client_ip = client_ip(request.extensions());
    let identity = gateway.auth.authenticate(request.headers());
    let caller = match &identity {
        Ok(identity) => Caller::User(identity.user_id.clone()),
        Err(_) => Caller::Address(client_ip.unwrap_or(IpAddr::from([0, 0, 0, 0]))),
    };
    if let Err(problem) = gateway.limiter.check(&caller) {
        return problem.into_response();
    }
    let identity = match identity {
        Ok(identity) => identity,
        Err(problem) => return problem.into_response(),
    };
    let Some(route) = rules::resolve(request.uri().path()) else {
        return service_runtime::problem::not_found().await.into_response();
    };
    // Extension methods (QUERY, ...) are not forwarded: no service has any. The standard ones
    // are, and a service answers those it does not serve with its own 405 and exact `Allow`.
    if !FORWARDED_METHODS.contains(request.method()) {
        let mut refused = Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{} is not a method of this API", request.method()),
        )
        .into_response();
        refused.headers_mut().insert(
            header::ALLOW,
            HeaderValue::from_static("GET, HEAD, POST, PUT, PATCH, DELETE"),
        );
        return refused;
    }
    if let Err(reason) = route.authorize(identity.role, request.method()) {
        return Problem::forbidden(reason).into_response();
    }
    let deadline = gateway.admission.deadline(&route, request.headers());
    let admitted = match gateway
        .admission
        .admit(&route, request.method(), deadline)
        .await
    {
        Ok(admitted) => admitted,
        Err(refusal) => return refusal,
    };
    let answer = gateway
        .proxy
        .forward(&route, &identity, client_ip, request, deadline)
        .await;
    admitted.settle(&answer);
    answer
}

/// The peer address. Not `X-Forwarded-For`: a client could write any address there.
pub fn client_ip(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
}

/// Identity headers come from the gateway only: whatever a client sent is gone before any
/// handler runs, on every request.
async fn strip_identity_headers(mut request: Request, next: Next) -> Response {
    let headers = request.headers_mut();
    headers.remove(USER_ID_HEADER);
    headers.remove(USER_ROLE_HEADER);
    next.run(request).await
}

/// A 413 before reading a body whose declared length is already too large.
async fn refuse_declared_oversize(max: usize, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > max as u64 => body_too_large().into_response(),
        _ => next.run(request).await,
    }
}

/// Browsers may call from `origins` only; none configured means no CORS headers at all.
fn cors(origins: &[String]) -> anyhow::Result<Option<CorsLayer>> {
    if origins.is_empty() {
        return Ok(None);
    }
    let origins = origins
        .iter()
        .map(|o| HeaderValue::from_str(o))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| anyhow::anyhow!("GATEWAY_CORS_ORIGINS holds an invalid origin"))?;
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                header::HeaderName::from_static("idempotency-key"),
                header::HeaderName::from_static("x-request-id"),
            ])
            .expose_headers([
                header::RETRY_AFTER,
                header::LOCATION,
                header::HeaderName::from_static("x-request-id"),
            ])
            .max_age(Duration::from_secs(600)),
    ))
}
