//! The HTTP stack every service shares around its own routes.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::extract::State;
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::admission::{self, Admission};
use crate::{Problem, Readiness, ops, trace};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// `routes` plus the operational endpoints, a problem+json fallback, request ids, trace
/// context, access logs, HTTP metrics, a request timeout and panic containment.
///
/// The layers, from the outside in, in the order a request meets them.
pub fn app(routes: Router, readiness: Readiness, request_timeout: Duration) -> Router {
    let stack = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("request handler panicked");
            Problem::internal().into_response()
        }))
        .layer(middleware::from_fn_with_state(request_timeout, time_limit))
        .layer(
            // Failures are logged once, where they are handled (handlers and `Problem`
            // conversions), not again here.
            TraceLayer::new_for_http()
                .on_failure(())
                .make_span_with(|request: &Request| {
                    let request_id = request
                        .headers()
                        .get(&REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    let span = tracing::info_span!("http", method = %request.method(),
                    uri = %request.uri().path(), request_id, otel.name = %span_name(request),
                    otel.kind = "server", otel.status_code = tracing::field::Empty,
                    http.status = tracing::field::Empty, trace_id = tracing::field::Empty,
                    order.id = tracing::field::Empty);
                    // The caller's `traceparent` (or a new trace), so that the work and the events
                    // the request causes continue the same trace.
                    let caller = request
                        .headers()
                        .get(trace::HEADER)
                        .and_then(|v| v.to_str().ok());
                    trace::follow(&span, caller);
                    span
                }),
        )
        .layer(middleware::from_fn(ops::track_http))
        .layer(middleware::from_fn(read_body_first));
    routes
        .fallback(crate::problem::not_found)
        .merge(ops::router(readiness))
        .layer(stack)
}

/// A request span's name: the method and the route it matched (`POST /orders/{orderId}/cancel`),
/// not the path, so that spans of one operation share a name.
fn span_name(request: &Request) -> String {
    match request.extensions().get::<axum::extract::MatchedPath>() {
        Some(route) => format!("{} {}", request.method(), route.as_str()),
        None => request.method().to_string(),
    }
}

/// The largest request body a service reads (axum's default for its extractors).
const MAX_BODY: usize = 2 * 1024 * 1024;

/// Reads each request's body whole before routing. Answered before its body is read (a 404 or
/// 405, an admission refusal), a request's sender may still be writing the body when the
/// server closes the connection, and then gets a broken connection instead of the answer: the
/// gateway saw that as "service unavailable" for a few percent of such requests. Bodies here are
/// small JSON documents, which the extractors read whole anyway.
async fn read_body_first(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(_) => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body is too large",
        )
        .into_response(),
    }
}

/// A service's own routes behind admission control: deadlines, an adaptive concurrency limit and
/// priorities ([`crate::admission`]). Wrap only the routes: `app` adds the operational endpoints
/// afterwards, outside it, so health checks and metrics are never refused.
pub fn admitted(routes: Router, admission: Admission) -> Router {
    routes.layer(middleware::from_fn_with_state(admission, admission::admit))
}

/// Answers 503 problem+json when a request takes longer than the service's request timeout.
async fn time_limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout = ?limit, "request timed out");
            Problem::unavailable("request_timeout", "the request took too long; try again", 1)
                .into_response()
        }
    }
}

/// The version an `If-Match` header names (`"3"`, `3` or `W/"3"`): `None` without the header,
/// `Some(None)` when its value names no version (`*`, a list, garbage), which matches none.
pub fn if_match_version<T: std::str::FromStr>(
    headers: &axum::http::HeaderMap,
) -> Option<Option<T>> {
    let value = headers.get(axum::http::header::IF_MATCH)?;
    let raw = value.to_str().unwrap_or_default().trim();
    let raw = raw.strip_prefix("W/").unwrap_or(raw).trim_matches('"');
    Some(raw.parse().ok())
}
