//! gRPC through the gateway, on its own port: a request whose `content-type` is
//! `application/grpc…` (HTTP/2 without TLS, as grpcurl's `-plaintext` sends) is taken aside
//! before the REST stack and passed through the same checks as a REST call: the bearer token in
//! the `authorization` metadata, the caller's rate limit, the role rules of the REST route that
//! does the same thing (`PlaceOrder` and `CancelOrder` are customers' writes of `/orders`, the
//! other calls reads), then admission on the order service. The call goes on to the order
//! service's gRPC port (`ORDER_GRPC_URL`) over one HTTP/2 connection, with the identity as
//! `x-user-id`/`x-user-role` metadata; the answer, its stream and its trailers come back as sent.
//! The gateway's own refusals are gRPC statuses made from the same problems as REST's.

use std::net::IpAddr;

use anyhow::Context;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use service_runtime::Problem;
use service_runtime::deadline;
use service_runtime::grpc::status;
use service_runtime::trace::TraceParent;
use tonic::Status;
use tonic::transport::{Channel, Endpoint};
use tower::ServiceExt;

use crate::admission::REPLY_RESERVE;
use crate::forwarded::upstream_headers;
use crate::http::{Gateway, client_ip};
use crate::rate_limit::Caller;
use crate::rules;

/// The order service's gRPC server, as one lazily connected HTTP/2 channel.
#[derive(Clone)]
pub struct GrpcProxy {
    channel: Channel,
}

impl GrpcProxy {
    pub fn new(url: &str, connect_timeout: std::time::Duration) -> anyhow::Result<Self> {
        let endpoint = Endpoint::from_shared(url.to_owned())
            .with_context(|| format!("ORDER_GRPC_URL {url:?} is not a URL"))?
            .connect_timeout(connect_timeout)
            .tcp_nodelay(true);
        Ok(Self {
            channel: endpoint.connect_lazy(),
        })
    }
}

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
    forward(&gateway, request)
        .await
        .unwrap_or_else(|refusal| refusal.into_http())
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
    let trace = parts
        .headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(TraceParent::parse)
        .unwrap_or_else(TraceParent::new_root);
    let mut headers = upstream_headers(&parts.headers, &identity, client_ip, &trace);
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
                trace_id = trace.trace_id(),
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
