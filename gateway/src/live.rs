//! `GET /live/orders/{orderId}`: one order's status changes and domain events, as server-sent
//! events, for the console and anyone else who wants to watch an order move.
//!
//! The source is mypage's view of the order (`GET /mypage/orders/{id}`), read every
//! [`POLL`] by the gateway for as long as the stream is open: mypage already folds every event
//! of an order from the four topics, keyed by event id, into one document with its history.
//! The gateway keeps no consumer, state or connection to Kafka of its own; any replica serves
//! any stream, and a restarted one resumes a client from its `Last-Event-ID`
//! ([`timeline::Timeline`]). The other sources were weighed in `docs/console.md`.
//!
//! Who may watch is who may read the order through the REST API, asked of the service that
//! owns that fact, as the caller, when the stream opens: a customer's order service
//! (`GET /orders/{id}`: their own), an owner's store service (`GET /store-orders?storeId=`: the
//! order is their store's; the stream names the store), a rider's delivery service (a delivery
//! of the order). The view is then read with the gateway's own admin identity, since mypage
//! answers its customer alone.

pub mod timeline;

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use serde::Deserialize;
use serde_json::Value;
use service_runtime::problem::{ApiPath, ApiQuery, ProblemBody};
use service_runtime::{Identity, Problem, Role};
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use uuid::Uuid;

use crate::rate_limit::Caller;
use crate::rules;
use crate::state::{Gateway, client_ip};
use timeline::{Timeline, View};

/// How often an open stream reads the order's view.
pub const POLL: Duration = Duration::from_millis(400);
/// How long a stream stays open once the order is final and nothing more comes (a refund and a
/// delivery's cancellation follow a cancellation by a few events).
const QUIET_AFTER_FINAL: Duration = Duration::from_secs(5);
/// A stream's longest life: the client reconnects with its `Last-Event-ID`.
const MAX_LIFE: Duration = Duration::from_secs(15 * 60);
/// Streams open at once in one gateway; beyond, a 503 with `Retry-After`.
pub const MAX_STREAMS: usize = 512;
/// How long a stream waits for mypage to know the order before it ends (an admin may name
/// any id: the others were found allowed by a service that knows the order).
const UNKNOWN_GIVE_UP: Duration = Duration::from_secs(30);
/// The milliseconds a client waits before reconnecting (the SSE `retry` field).
const RECONNECT_MS: u64 = 1000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct WatchQuery {
    /// The order's store: required of an owner, whose store's orders the store service lists.
    pub store_id: Option<Uuid>,
}

/// The order's status changes and domain events as they happen (server-sent events). First a
/// `status` message (`orderStatus`, `paymentStatus`, `storeStatus`, `deliveryStatus`,
/// `cancelReason`) and an `event` message per event so far (`eventId`, `eventType`, `topic`,
/// `producer`, `occurredAt`; the SSE `id` is the event id), then each new one; `end` once the
/// order is final and quiet. A client reconnecting with `Last-Event-ID` gets the events after
/// that one. Who may watch is who may read the order: its customer, its store's owner (with
/// `storeId`), a rider with its delivery, an admin.
#[utoipa::path(
    get,
    path = "/live/orders/{orderId}",
    tag = "live",
    params(("orderId" = Uuid, Path, description = "the order"), WatchQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "the last event id received, to resume after it")),
    responses(
        (status = 200, description = "the stream", content_type = "text/event-stream", body = String),
        (status = 404, description = "no such order of the caller's (of the store's, for an owner), or an id that is not a UUID", body = ProblemBody, content_type = "application/problem+json"),
        (status = 400, description = "a storeId that is not a UUID (`malformed_query`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "missing, invalid or expired token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "an owner named no store (`store_id_required`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "rate limited; see Retry-After", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "too many streams open (`too_many_streams`), or the service that knows the order cannot answer now; see Retry-After", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn watch(
    State(gateway): State<Gateway>,
    ApiPath(order_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<WatchQuery>,
    request: Request,
) -> Result<Response, Problem> {
    let identity = gateway.auth.authenticate(request.headers());
    let caller = match &identity {
        Ok(identity) => Caller::User(identity.user_id.clone()),
        Err(_) => Caller::Address(
            client_ip(request.extensions()).unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])),
        ),
    };
    gateway.limiter.check(&caller)?;
    let identity = identity?;
    authorize(&gateway, &identity, order_id, query.store_id).await?;
    let permit = gateway.live.0.clone().try_acquire_owned().map_err(|_| {
        Problem::unavailable("too_many_streams", "too many live streams; retry later", 5)
    })?;
    let last_event_id = request
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let stream = spawn(gateway, order_id, Timeline::resuming(last_event_id), permit);
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response();
    // Proxies in front (nginx's buffering) would otherwise hold the events back.
    response.headers_mut().insert(
        "x-accel-buffering",
        axum::http::HeaderValue::from_static("no"),
    );
    Ok(response)
}

/// Whether `identity` may read the order, asked of the service that knows.
async fn authorize(
    gateway: &Gateway,
    identity: &Identity,
    order: Uuid,
    store: Option<Uuid>,
) -> Result<(), Problem> {
    let not_yours = || Problem::not_found(format!("order {order} not found"));
    match identity.role {
        Role::Admin => Ok(()),
        Role::Customer => match get(gateway, identity, &format!("/orders/{order}")).await? {
            (StatusCode::OK, _) => Ok(()),
            (StatusCode::NOT_FOUND, _) => Err(not_yours()),
            (status, _) => Err(upstream_refused(status)),
        },
        Role::Owner => {
            let store = store.ok_or_else(|| {
                Problem::unprocessable(
                    "store_id_required",
                    "an owner watches an order of their store: name it with storeId",
                )
            })?;
            match get(gateway, identity, &format!("/store-orders?storeId={store}")).await? {
                (StatusCode::OK, list) if lists(&list, "orderId", order) => Ok(()),
                (StatusCode::OK | StatusCode::NOT_FOUND | StatusCode::FORBIDDEN, _) => {
                    Err(not_yours())
                }
                (status, _) => Err(upstream_refused(status)),
            }
        }
        Role::Rider => match get(gateway, identity, &format!("/deliveries?orderId={order}")).await?
        {
            (StatusCode::OK, list) if lists(&list, "orderId", order) => Ok(()),
            (StatusCode::OK | StatusCode::NOT_FOUND, _) => Err(not_yours()),
            (status, _) => Err(upstream_refused(status)),
        },
    }
}

/// Whether `list` (a JSON array) has an element whose `field` is `id`.
fn lists(list: &Value, field: &str, id: Uuid) -> bool {
    let id = id.to_string();
    list.as_array()
        .is_some_and(|items| items.iter().any(|i| i[field].as_str() == Some(id.as_str())))
}

fn upstream_refused(status: StatusCode) -> Problem {
    Problem::unavailable(
        "upstream_unavailable",
        format!("cannot check who may watch the order now ({status}); retry later"),
        2,
    )
}

/// `GET path` on the service that owns it, as `identity`, through the same admission, deadline
/// and retries as a proxied request: its status and JSON body (`Null` if none).
async fn get(
    gateway: &Gateway,
    identity: &Identity,
    path_and_query: &str,
) -> Result<(StatusCode, Value), Problem> {
    let path = path_and_query.split('?').next().unwrap_or_default();
    let route = rules::resolve(path).ok_or_else(Problem::internal)?;
    let request = Request::builder()
        .method(Method::GET)
        .uri(path_and_query)
        .body(Body::empty())
        .map_err(|_| Problem::internal())?;
    let deadline = gateway.admission.deadline(&route, &HeaderMap::new());
    let admitted = gateway
        .admission
        .admit(&route, &Method::GET, deadline)
        .await
        .map_err(|_| Problem::unavailable("overloaded", "the service is busy; retry later", 1))?;
    let answer = gateway
        .proxy
        .forward(&route, identity, None, request, deadline)
        .await;
    admitted.settle(&answer);
    let status = answer.status();
    let body = axum::body::to_bytes(answer.into_body(), 4 * 1024 * 1024)
        .await
        .map_err(|_| Problem::unavailable("upstream_unavailable", "the answer broke off", 1))?;
    Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

/// The gateway's own identity, for reading the view once the caller was found allowed.
fn gateway_identity() -> Identity {
    Identity {
        user_id: "gateway".to_owned(),
        role: Role::Admin,
    }
}

/// Starts the polling task; the stream the response sends. The task ends when the client goes
/// away (the receiver is dropped), the order is final and quiet, or the stream is old.
fn spawn(
    gateway: Gateway,
    order: Uuid,
    timeline: Timeline,
    permit: OwnedSemaphorePermit,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(run(gateway, order, timeline, tx, permit));
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event), rx))
    })
}

async fn run(
    gateway: Gateway,
    order: Uuid,
    mut timeline: Timeline,
    tx: mpsc::Sender<Event>,
    _permit: OwnedSemaphorePermit,
) {
    let started = Instant::now();
    let mut last_change = Instant::now();
    let mut known = false;
    let path = format!("/mypage/orders/{order}");
    let retry = Event::default()
        .retry(Duration::from_millis(RECONNECT_MS))
        .comment("watching");
    if tx.send(retry).await.is_err() {
        return;
    }
    loop {
        // A 404 is an order mypage has not heard of yet (it follows the events by milliseconds);
        // a failure, a service away for now: the next reading tries again.
        if let Ok((StatusCode::OK, body)) = get(&gateway, &gateway_identity(), &path).await
            && let Ok(view) = serde_json::from_value::<View>(body)
        {
            known = true;
            let update = timeline.update(&view);
            if !update.events.is_empty() || update.status.is_some() {
                last_change = Instant::now();
            }
            for event in &update.events {
                let message = Event::default()
                    .event("event")
                    .id(event.event_id.clone())
                    .json_data(event);
                if let Ok(message) = message
                    && tx.send(message).await.is_err()
                {
                    return;
                }
            }
            if let Some(status) = &update.status
                && let Ok(message) = Event::default().event("status").json_data(status)
                && tx.send(message).await.is_err()
            {
                return;
            }
            if view.status.is_final() && last_change.elapsed() >= QUIET_AFTER_FINAL {
                let _ = tx.send(Event::default().event("end").data("final")).await;
                return;
            }
        }
        if !known && started.elapsed() >= UNKNOWN_GIVE_UP {
            let _ = tx.send(Event::default().event("end").data("unknown")).await;
            return;
        }
        if started.elapsed() >= MAX_LIFE {
            return;
        }
        tokio::select! {
            () = tx.closed() => return,
            () = tokio::time::sleep(POLL) => {}
        }
    }
}
