//! gRPC through the gateway, on its own port: a request whose `content-type` is
//! `application/grpc…` (HTTP/2 without TLS, as grpcurl's `-plaintext` sends) is taken aside
//! before the REST stack and passed through the same checks as a REST call: the bearer token in
//! the `authorization` metadata, the caller's rate limit, the role rules of the REST route that
//! does the same thing (`PlaceOrder`, `ChangeOrder` and `CancelOrder` are customers' writes of
//! `/orders`, the other calls reads), then admission on the order service. The call goes on to the order
//! service's gRPC port (`ORDER_GRPC_URL`) over one HTTP/2 connection, with the identity as
//! `x-user-id`/`x-user-role` metadata; the answer, its stream and its trailers come back as sent.
//! The gateway's own refusals are gRPC statuses made from the same problems as REST's.

use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use hyper::body::Frame;
use service_runtime::Problem;
use service_runtime::deadline;
use service_runtime::grpc::status;
use service_runtime::trace;
use tonic::Status;
use tower::ServiceExt;
use tracing::Instrument;

use crate::admission::REPLY_RESERVE;
use crate::forwarded::upstream_headers;
use crate::rate_limit::Caller;
use crate::rules;
use crate::state::{Gateway, client_ip};

/// What a gRPC method is to the gateway's rules: the REST route and method that do the same.
struct Call {
    path: &'static str,
    /// For the role rules: POST for a write, GET for a read.
    rule_method: Method,
    /// For admission: only placing an order is new work.
    admission_method: Method,
}

/// The gRPC methods the gateway passes on, by `/package.Service/Method` path.
fn call(path: &str) -> Option<Call> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    let read = |path| Call {
        path,
        rule_method: Method::GET,
        admission_method: Method::GET,
    };
    match (service, method) {
        ("fooddelivery.order.v1.OrderService", "PlaceOrder") => Some(Call {
            path: "/orders",
            rule_method: Method::POST,
            admission_method: Method::POST,
        }),
        ("fooddelivery.order.v1.OrderService", "ChangeOrder") => Some(Call {
            path: "/orders",
            rule_method: Method::PATCH,
            admission_method: Method::PATCH,
        }),
        ("fooddelivery.order.v1.OrderService", "CancelOrder") => Some(Call {
            path: "/orders",
            rule_method: Method::POST,
            admission_method: Method::GET,
        }),
        ("fooddelivery.order.v1.OrderService", "GetOrder" | "ListOrders" | "WatchOrder") => {
            Some(read("/orders"))
        }
        (
            "grpc.health.v1.Health"
            | "grpc.reflection.v1.ServerReflection"
            | "grpc.reflection.v1alpha.ServerReflection",
            _,
        ) => Some(read("/orders")),
        _ => None,
    }
}

/// Whether `request` is a gRPC call.
fn is_grpc(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// The outermost layer of the gateway: gRPC calls are forwarded here, the rest go on.
pub async fn take_grpc(State(gateway): State<Gateway>, request: Request, next: Next) -> Response {
    if !is_grpc(&request) {
        return next.run(request).await;
    }
    let started = Instant::now();
    // Label values stay bounded: any path not served here is "unknown".
    let path = request.uri().path();
    let rpc = match call(path) {
        Some(_) => path.to_owned(),
        None => "unknown".to_owned(),
    };
    // gRPC calls are taken aside before the HTTP layers: their span, continuing the caller's
    // trace, is made here.
    let span = trace::grpc_span(&rpc, request.headers());
    match forward(&gateway, request).instrument(span).await {
        Ok(answer) => {
            let recorder = CallRecorder { rpc, started };
            // A call that failed at once carries its status in the head ("trailers only");
            // otherwise it comes in the trailers, after the last message.
            match answer.headers().get(GRPC_STATUS).map(code_of) {
                Some(code) => {
                    recorder.record(&code);
                    answer
                }
                None => answer.map(|body| Body::new(Recorded::new(body, recorder))),
            }
        }
        Err(refusal) => {
            CallRecorder { rpc, started }.record(&(refusal.code() as i32).to_string());
            refusal.into_http()
        }
    }
}

const GRPC_STATUS: &str = "grpc-status";

fn code_of(value: &HeaderValue) -> String {
    value.to_str().unwrap_or("2").to_owned()
}

/// `grpc_requests_total` and `grpc_request_duration_seconds` (until the call's status, a
/// stream's whole life) by method and status code, as `http_requests_total` counts REST calls.
struct CallRecorder {
    rpc: String,
    started: Instant,
}

impl CallRecorder {
    fn record(self, code: &str) {
        let labels = [("rpc", self.rpc), ("code", code.to_owned())];
        metrics::counter!("grpc_requests_total", &labels).increment(1);
        metrics::histogram!("grpc_request_duration_seconds", &labels)
            .record(self.started.elapsed().as_secs_f64());
    }
}

/// An answer's body passed through unchanged, recording the call when its trailers go by (or
/// as cancelled, code 1, when the caller goes away first; unavailable, 14, when it breaks).
struct Recorded {
    inner: Body,
    recorder: Option<CallRecorder>,
}

impl Recorded {
    fn new(inner: Body, recorder: CallRecorder) -> Self {
        Self {
            inner,
            recorder: Some(recorder),
        }
    }

    fn finish(&mut self, code: &str) {
        if let Some(recorder) = self.recorder.take() {
            recorder.record(code);
        }
    }
}

impl HttpBody for Recorded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame
                    .trailers_ref()
                    .and_then(|trailers| trailers.get(GRPC_STATUS))
                    .map(code_of)
                {
                    self.finish(&code);
                }
            }
            Poll::Ready(Some(Err(_))) => self.finish("14"),
            Poll::Ready(None) => self.finish("2"),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Recorded {
    fn drop(&mut self) {
        self.finish("1");
    }
}

async fn forward(gateway: &Gateway, request: Request) -> Result<Response, Status> {
    let client_ip = client_ip(request.extensions());
    let identity = gateway.auth.authenticate(request.headers());
    let caller = match &identity {
        Ok(identity) => Caller::User(identity.user_id.clone()),
        Err(_) => Caller::Address(client_ip.unwrap_or(IpAddr::from([0, 0, 0, 0]))),
    };
    gateway.limiter.check(&caller).map_err(status)?;
    let identity = identity.map_err(status)?;
    let rpc = request.uri().path().to_owned();
    let path = rpc.as_str();
    let call =
        call(path).ok_or_else(|| Status::unimplemented(format!("{path} is not served here")))?;
    let route = rules::resolve(call.path).ok_or_else(|| Status::unimplemented(path.to_owned()))?;
    route
        .authorize(identity.role, &call.rule_method)
        .map_err(|reason| status(Problem::forbidden(reason)))?;
    let deadline = gateway.admission.deadline(&route, request.headers());
    let admitted = gateway
        .admission
        .admit(&route, &call.admission_method, deadline)
        .await
        .map_err(|_| {
            status(Problem::unavailable(
                "overloaded",
                "the order service is at capacity; try again shortly",
                1,
            ))
        })?;

    let (mut parts, body) = request.into_parts();
    let mut headers = upstream_headers(&parts.headers, &identity, client_ip, &trace::current());
    // gRPC needs it (it says trailers will be read); elsewhere it is hop-by-hop.
    headers.insert(header::TE, HeaderValue::from_static("trailers"));
    headers.insert(
        HeaderName::from_static(deadline::HEADER),
        deadline.header_value(REPLY_RESERVE),
    );
    parts.headers = headers;
    let upstream = axum::http::Request::from_parts(parts, tonic::body::Body::new(body));

    // The answer's head must come within the route's budget; a stream's messages may take as
    // long as the stream lasts.
    let started = std::time::Instant::now();
    let answer = tokio::time::timeout(
        deadline.remaining(),
        gateway.grpc.channel.clone().oneshot(upstream),
    )
    .await;
    let answer = match answer {
        Ok(Ok(response)) => {
            tracing::info!(
                upstream = "order",
                rpc = %rpc,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "proxied gRPC call"
            );
            response.map(Body::new)
        }
        Ok(Err(e)) => {
            tracing::warn!(upstream = "order", error = %e, "gRPC upstream call failed");
            return Err(status(Problem::unavailable(
                "upstream_unavailable",
                "the order service is unavailable; retry later",
                2,
            )));
        }
        Err(_) => {
            tracing::warn!(upstream = "order", "gRPC upstream did not answer in time");
            return Err(Status::deadline_exceeded(
                "the order service did not answer in time",
            ));
        }
    };
    admitted.settle(&answer);
    Ok(answer)
}
