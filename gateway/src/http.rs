//! The gateway's HTTP surface: the public route prefixes, the development token endpoint, the
//! console's files, an order's live stream, the services' health for admins, and
//! the checks every proxied request passes in order (identity headers removed, token, rate
//! limit, role), inside the shared stack (request ids, trace context, metrics, 404 problem).
//! gRPC calls, on the same port, are taken aside first ([`crate::grpc`]).

use std::net::IpAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use service_runtime::identity::{USER_ID_HEADER, USER_ROLE_HEADER};
use service_runtime::{Problem, Readiness};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;

use crate::console;
use crate::grpc;
use crate::openapi;
use crate::proxy::body_too_large;
use crate::rate_limit::Caller;
use crate::rules::{self, ADMIN_PREFIX, TABLE};
use crate::state::{Gateway, client_ip};

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
    let (mut routes, _) = openapi::routes(options.dev_tokens).split_for_parts();
    // The console: its page at `/` and its files under `/console/`, beside no API prefix.
    let page: std::sync::Arc<str> = console::index_page(options.dev_tokens).into();
    routes = routes
        .route("/", get(move || async move { console::index(&page) }))
        .route("/console/{file}", get(console::asset));
    for prefix in TABLE.iter().map(|r| r.prefix).chain([ADMIN_PREFIX]) {
        routes = routes
            .route(prefix, any(forward))
            .route(&format!("{prefix}/{{*rest}}"), any(forward));
    }
    let grpc = gateway.clone();
    let app = service_runtime::http::app(
        routes.with_state(gateway),
        readiness,
        options.request_timeout,
    )
    // A body declared or found longer than the limit is refused with a 413 problem before any
    // other check: a declared one here, a chunked one when the shared stack reads the body whole
    // before routing (`read_body_first`), which the limit makes fail past it. (The proxy's own
    // count of what it forwards stays as a second guard.)
    .layer(RequestBodyLimitLayer::new(options.max_body_bytes))
    .layer(middleware::map_response(as_problem))
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

/// Identity headers come from the gateway only: whatever a client sent is gone before any
/// handler runs, on every request.
async fn strip_identity_headers(mut request: Request, next: Next) -> Response {
    let headers = request.headers_mut();
    headers.remove(USER_ID_HEADER);
    headers.remove(USER_ROLE_HEADER);
    next.run(request).await
}

/// The body limit's own 413 is plain text: answered as every other refusal, a problem.
async fn as_problem(response: Response) -> Response {
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_problem {
        return body_too_large().into_response();
    }
    response
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
