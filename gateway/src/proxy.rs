//! Forwarding a request to its service and the answer back, streamed both ways over one pooled
//! client. The service's status, headers and body (problem+json included) pass unchanged; only
//! the gateway's own failures (service down, too slow, body too large) are written here.
//!
//! An idempotent request (GET, HEAD, PUT, DELETE, OPTIONS, or any carrying an
//! `Idempotency-Key`) whose connection to the service could not be made, or broke before any
//! answer came, is sent once more, after a few milliseconds, within a retry budget per service
//! (`service_runtime::retry`): that is a replica going away in a rolling restart. A service's
//! own answers, 503s included, are never retried here: a service that refuses is overloaded, and its `Retry-After` is for
//! the client.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use service_runtime::deadline::{self, Deadline};
use service_runtime::retry::RetryPolicy;
use service_runtime::trace;
use service_runtime::{Identity, Problem};

use crate::admission::REPLY_RESERVE;
use crate::forwarded::{HOP_BY_HOP, connection_listed, upstream_headers};
use crate::rules::{Route, Upstream};
use crate::settings::{Settings, Upstreams};

/// Seconds a client is asked to wait before retrying an unavailable service.
const UNAVAILABLE_RETRY_AFTER: u64 = 2;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Clone)]
pub struct Proxy {
    client: reqwest::Client,
    upstreams: Arc<Upstreams>,
    retries: Arc<HashMap<Upstream, RetryPolicy>>,
    max_body_bytes: usize,
}

impl Proxy {
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            client,
            upstreams: Arc::new(settings.upstreams.clone()),
            retries: Arc::new(
                Upstream::ALL
                    .into_iter()
                    .map(|u| (u, RetryPolicy::new(u.name())))
                    .collect(),
            ),
            max_body_bytes: settings.max_body_bytes,
        })
    }

    /// Sends `request` to `route` as `identity` and returns the service's answer. The service is
    /// told the time left until `deadline` (less the time its answer needs to come back), and
    /// waited for until then: a 504 means it did not answer even its own deadline's 503.
    pub async fn forward(
        &self,
        route: &Route,
        identity: &Identity,
        client_ip: Option<IpAddr>,
        request: Request,
        deadline: Deadline,
    ) -> Response {
        let upstream = self.upstreams.get(route.upstream);
        let (parts, body) = request.into_parts();
        let mut url = format!("{}{}", upstream.base_url, route.path);
        if let Some(query) = parts.uri.query() {
            url.push('?');
            url.push_str(query);
        }
        // The upstream's work is a child of this request's span.
        let mut headers = upstream_headers(&parts.headers, identity, client_ip, &trace::current());

        let too_large = Arc::new(AtomicBool::new(false));
        let may_retry = retryable(&parts.method, &parts.headers);
        let mut body = match (body.is_end_stream(), may_retry) {
            (true, _) => Outgoing::Empty,
            // Read first (it is bounded by the body limit), so that it can be sent again.
            (false, true) => match axum::body::to_bytes(body, self.max_body_bytes).await {
                Ok(bytes) => Outgoing::Buffered(bytes),
                Err(_) => return body_too_large().into_response(),
            },
            (false, false) => Outgoing::Streamed(body),
        };
        let retries = &self.retries[&route.upstream];
        if may_retry {
            retries.first_attempt();
        }

        let started = Instant::now();
        let upstream_name = route.upstream.name();
        let request_id = parts
            .headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let mut attempt = 1;
        let sent = loop {
            headers.insert(
                HeaderName::from_static(deadline::HEADER),
                deadline.header_value(REPLY_RESERVE),
            );
            let mut builder = self
                .client
                .request(parts.method.clone(), &url)
                .headers(headers.clone())
                .timeout(deadline.remaining());
            builder = match body.next(self.max_body_bytes, &too_large) {
                Some(body) => builder.body(body),
                None => builder,
            };
            match builder.send().await {
                Err(e) if may_retry && (e.is_connect() || connection_lost(&e)) => {
                    match retries.next_delay(attempt, Some(deadline)) {
                        Some(wait) => {
                            tracing::info!(upstream = upstream_name, error = %e, attempt,
                                wait_ms = wait.as_millis() as u64, request_id, "retrying");
                            tokio::time::sleep(wait).await;
                            attempt += 1;
                        }
                        None => break Err(e),
                    }
                }
                sent => break sent,
            }
        };
        match sent {
            Ok(response) => {
                tracing::info!(
                    upstream = upstream_name,
                    status = response.status().as_u16(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    request_id,
                    "proxied"
                );
                into_response(response)
            }
            Err(_) if too_large.load(Ordering::Relaxed) => body_too_large().into_response(),
            Err(e) => {
                let problem = if e.is_timeout() {
                    Problem::new(
                        StatusCode::GATEWAY_TIMEOUT,
                        "upstream_timeout",
                        format!("the {upstream_name} service did not answer in time"),
                    )
                } else {
                    Problem::unavailable(
                        "upstream_unavailable",
                        format!("the {upstream_name} service is unavailable; retry later"),
                        UNAVAILABLE_RETRY_AFTER,
                    )
                };
                tracing::warn!(
                    upstream = upstream_name,
                    error = %e,
                    timeout = e.is_timeout(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    request_id,
                    "upstream call failed"
                );
                problem.into_response()
            }
        }
    }
}

/// Whether the connection broke before the service answered (closed or reset under the
/// request): the service may or may not have done it, so only an idempotent request is resent.
fn connection_lost(error: &reqwest::Error) -> bool {
    if error.is_timeout() || error.is_body() {
        return false;
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(hyper) = cause.downcast_ref::<hyper::Error>()
            && (hyper.is_incomplete_message() || hyper.is_canceled())
        {
            return true;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::{
                BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof,
            };
            if matches!(
                io.kind(),
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
            ) {
                return true;
            }
        }
        source = cause.source();
    }
    false
}

/// Whether sending `method` twice does what sending it once does.
fn retryable(method: &Method, headers: &HeaderMap) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    ) || headers.contains_key("idempotency-key")
}

/// A request's body on its way out.
enum Outgoing {
    Empty,
    /// Read whole: may be sent again.
    Buffered(Bytes),
    /// Streamed through under the body limit, once.
    Streamed(Body),
    Sent,
}

impl Outgoing {
    /// The body for the next try (`None`: no body).
    fn next(&mut self, max: usize, too_large: &Arc<AtomicBool>) -> Option<reqwest::Body> {
        match std::mem::replace(self, Outgoing::Sent) {
            Outgoing::Empty => {
                *self = Outgoing::Empty;
                None
            }
            Outgoing::Buffered(bytes) => {
                *self = Outgoing::Buffered(bytes.clone());
                Some(reqwest::Body::from(bytes))
            }
            Outgoing::Streamed(body) => Some(limited(body, max, Arc::clone(too_large))),
            Outgoing::Sent => None,
        }
    }
}

pub fn body_too_large() -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        "the request body is too large",
    )
}

/// The request body as a stream that fails (and says so in `too_large`) past `max` bytes.
fn limited(body: Body, max: usize, too_large: Arc<AtomicBool>) -> reqwest::Body {
    let mut seen = 0usize;
    let stream = body.into_data_stream().map(move |chunk| {
        let chunk = chunk?;
        seen += chunk.len();
        if seen > max {
            too_large.store(true, Ordering::Relaxed);
            return Err(Box::<dyn std::error::Error + Send + Sync>::from(
                "request body over the limit",
            ));
        }
        Ok(chunk)
    });
    reqwest::Body::wrap_stream(stream)
}

fn into_response(upstream: reqwest::Response) -> Response {
    let status = upstream.status();
    let named_in_connection = connection_listed(upstream.headers());
    let mut headers = HeaderMap::with_capacity(upstream.headers().len());
    for (name, value) in upstream.headers() {
        if !HOP_BY_HOP.contains(name) && !named_in_connection.contains(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    let mut response = Response::new(Body::from_stream(upstream.bytes_stream()));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}
