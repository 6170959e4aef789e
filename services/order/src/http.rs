//! The order service's HTTP API (customers, through the gateway).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use service_runtime::admission::Downstream;
use service_runtime::problem::{ApiJson, ApiPath, ProblemBody};
use service_runtime::{Identity, Problem, Role};
use shared_events::OrderLine;
use tracing::Instrument;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::domain::{Order, OrderRequest, RequestedItem};
use crate::problems;
use crate::use_cases::{ChangeRequest, Orders, PaymentWait};

#[derive(Clone)]
pub struct AppState {
    pub orders: Orders,
    /// Seconds a client should wait before retrying when payment is unavailable.
    pub retry_after: u64,
}

pub fn router(state: AppState) -> Router {
    let (router, _) = routes().split_for_parts();
    router.with_state(state)
}

/// The order service's part of the API document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// Each route once: its path and method come from the handler's `#[utoipa::path]`.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(place, list))
        .routes(routes!(one, change))
        .routes(routes!(cancel))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    components(schemas(PlaceOrder, ChangeOrder, ItemRequest, OrderBody)),
    tags((name = "order", description = "Customers' orders: placed only once paid"))
)]
struct ApiDoc;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlaceOrder {
    pub store_id: Uuid,
    /// 1 to 50 lines, each for a different menu item.
    #[schema(min_items = 1, max_items = 50)]
    pub items: Vec<ItemRequest>,
    /// 1 to 200 characters, not only white space; no U+0000. Kept without the white space at its ends.
    #[schema(
        example = "Seoul, Gangnam-gu, Teheran-ro 1",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000]*[^\u0000\u0009-\u000d\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff][^\u0000]*$"
    )]
    pub delivery_address: String,
}

/// What to change: the lines (all of them, replacing the order's), the delivery address, or
/// both. What is left out stays as it is.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeOrder {
    /// 1 to 50 lines, each for a different menu item of the order's store.
    #[schema(min_items = 1, max_items = 50)]
    pub items: Option<Vec<ItemRequest>>,
    /// 1 to 200 characters, not only white space; no U+0000. Kept without the white space at its ends.
    #[schema(
        example = "Seoul, Mapo-gu, Wausan-ro 94",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000]*[^\u0000\u0009-\u000d\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff][^\u0000]*$"
    )]
    pub delivery_address: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ItemRequest {
    pub menu_item_id: Uuid,
    /// 1 to 99. Signed, so that a negative quantity is a validation error (422), not a type error.
    #[schema(example = 2, minimum = 1, maximum = 99)]
    #[serde(deserialize_with = "service_runtime::json::whole_number")]
    pub quantity: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Order)]
pub struct OrderBody {
    pub id: Uuid,
    pub customer_id: String,
    pub store_id: Uuid,
    pub items: Vec<OrderLine>,
    /// Won.
    #[schema(example = 36000)]
    pub total_price: i64,
    pub delivery_address: String,
    #[schema(example = "Placed")]
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "customer")]
    pub cancel_reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<Uuid>,
    /// The version of the order's lines, price and address: 1 as placed, one more at each
    /// change. What a change names in `If-Match`.
    #[schema(example = 1, minimum = 1)]
    pub version: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Order> for OrderBody {
    fn from(o: Order) -> Self {
        Self {
            id: o.id,
            customer_id: o.customer_id,
            store_id: o.store_id,
            items: o.items,
            total_price: o.total_price,
            delivery_address: o.delivery_address,
            status: o.status.as_str(),
            cancel_reason: o.cancel_reason.map(|r| r.as_str()),
            payment_id: o.payment_id,
            version: o.version,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// Places an order and pays for it: the order exists only if it is paid.
#[utoipa::path(
    post,
    path = "/orders",
    tag = "order",
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeating a key with the same request returns the caller's first order with it instead of placing another; with another request it is refused (422 `idempotency_key_reused`): 1 to 200 visible ASCII characters", min_length = 1, max_length = 200, pattern = r"^[\t\x20-\x7e]*[\x21-\x7e][\t\x20-\x7e]*$")),
    request_body = PlaceOrder,
    responses(
        (status = 201, description = "placed and paid", body = OrderBody,
            headers(("Location" = String, description = "the new order"))),
        (status = 400, description = "malformed body or Idempotency-Key", body = ProblemBody, content_type = "application/problem+json"),
        (status = 402, description = "payment declined (`payment_declined`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "not a customer", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "an order with this Idempotency-Key is still being paid by an attempt that outlived its lease (`order_in_progress`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "unknown store or menu item, unavailable item, quantity out of 1..99, no items, invalid address; an Idempotency-Key already used with another request (`idempotency_key_reused`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "payment unavailable, slow or its breaker open (`payment_unavailable`); see Retry-After", body = ProblemBody, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
async fn place(
    State(state): State<AppState>,
    identity: Identity,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PlaceOrder>,
) -> Result<Response, Problem> {
    identity.require(&[Role::Customer])?;
    let key = match headers.get("idempotency-key") {
        None => None,
        // A value with other than visible characters reads as none, and is refused as such.
        Some(v) => Some(problems::idempotency_key(v.to_str().unwrap_or_default())?),
    };
    let request = OrderRequest {
        store_id: body.store_id,
        items: body.items.into_iter().map(RequestedItem::from).collect(),
        delivery_address: body.delivery_address,
    };
    // Placing runs to its end even if the caller stops waiting: once the payment is charged,
    // its answer must be recorded, whatever happens to this request.
    let orders = state.orders.clone();
    let (customer, key) = (identity.user_id.clone(), key.map(str::to_owned));
    let (placement, PaymentWait(waited)) = tokio::spawn(
        async move { orders.place(&customer, &request, key.as_deref()).await }.in_current_span(),
    )
    .await
    .map_err(service_runtime::problem::internal_error)??;
    let mut response = match problems::placed(placement, state.retry_after) {
        Ok(order) => {
            let location = format!("/orders/{}", order.id);
            (
                StatusCode::CREATED,
                [(header::LOCATION, location)],
                Json(OrderBody::from(order)),
            )
                .into_response()
        }
        Err(problem) => problem.into_response(),
    };
    // Admission control judges this service's own congestion, not payment's slowness.
    response.extensions_mut().insert(Downstream(waited));
    Ok(response)
}

/// The caller's own orders.
#[utoipa::path(
    get,
    path = "/orders",
    tag = "order",
    responses((status = 200, description = "the caller's orders", body = Vec<OrderBody>))
)]
async fn list(
    State(state): State<AppState>,
    identity: Identity,
) -> Result<Json<Vec<OrderBody>>, Problem> {
    let orders = state.orders.list(&identity.user_id).await?;
    Ok(Json(orders.into_iter().map(OrderBody::from).collect()))
}

/// One of the caller's own orders.
#[utoipa::path(
    get,
    path = "/orders/{orderId}",
    tag = "order",
    params(("orderId" = Uuid, Path)),
    responses(
        (status = 200, description = "the order", body = OrderBody),
        (status = 404, description = "no such order of the caller's", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn one(
    State(state): State<AppState>,
    identity: Identity,
    ApiPath(order_id): ApiPath<Uuid>,
) -> Result<Json<OrderBody>, Problem> {
    Ok(Json(
        state.orders.get(&identity.user_id, order_id).await?.into(),
    ))
}

impl From<ItemRequest> for RequestedItem {
    fn from(item: ItemRequest) -> Self {
        RequestedItem {
            menu_item_id: item.menu_item_id,
            quantity: item.quantity,
        }
    }
}

/// Changes an order's lines or delivery address until its cooking starts (while Placed or
/// Accepted), from the version the caller last read. A dearer order is paid first (the
/// difference, declined or unavailable like an order's payment, leaving the order as it was);
/// a cheaper one is refunded the difference. The store's order follows, and the customer and
/// the store's owner are notified.
#[utoipa::path(
    patch,
    path = "/orders/{orderId}",
    tag = "order",
    params(
        ("orderId" = Uuid, Path),
        ("If-Match" = String, Header, description = "the order's `version` as the caller last read it, quoted or not"),
    ),
    request_body = ChangeOrder,
    responses(
        (status = 200, description = "changed (or already so: nothing to change)", body = OrderBody),
        (status = 400, description = "malformed body", body = ProblemBody, content_type = "application/problem+json"),
        (status = 402, description = "the payment of the difference was declined (`payment_declined`); nothing changed", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "not a customer", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such order of the caller's", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "too late: cooking started, or the order is canceled or over (`invalid_transition`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 412, description = "the order is no longer at the version in If-Match (`stale_version`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "unknown or unavailable menu item, quantity out of 1..99, no items, invalid address", body = ProblemBody, content_type = "application/problem+json"),
        (status = 428, description = "no If-Match (`precondition_required`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "payment unavailable, slow or its breaker open (`payment_unavailable`); nothing changed; see Retry-After", body = ProblemBody, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "seconds"))),
    )
)]
async fn change(
    State(state): State<AppState>,
    identity: Identity,
    headers: HeaderMap,
    ApiPath(order_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ChangeOrder>,
) -> Result<Response, Problem> {
    identity.require(&[Role::Customer])?;
    let Some(expected) = service_runtime::http::if_match_version::<u32>(&headers) else {
        return Err(problems::version_required());
    };
    let request = ChangeRequest {
        items: body
            .items
            .map(|items| items.into_iter().map(RequestedItem::from).collect()),
        delivery_address: body.delivery_address,
    };
    // Like placing, a change runs to its end once started: a top-up charged must be followed
    // by the change or by its refund, whatever happens to this request.
    let orders = state.orders.clone();
    let customer = identity.user_id.clone();
    let (modification, PaymentWait(waited)) = tokio::spawn(
        async move {
            // A version that names none matches none: 0 is never an order's.
            let expected = expected.unwrap_or(0);
            orders.change(&customer, order_id, expected, &request).await
        }
        .in_current_span(),
    )
    .await
    .map_err(service_runtime::problem::internal_error)??;
    let mut response = match problems::changed(modification, state.retry_after) {
        Ok(order) => Json(OrderBody::from(order)).into_response(),
        Err(problem) => problem.into_response(),
    };
    response.extensions_mut().insert(Downstream(waited));
    Ok(response)
}

/// Cancels an order while it is Placed or Accepted; its payment is refunded.
#[utoipa::path(
    post,
    path = "/orders/{orderId}/cancel",
    tag = "order",
    params(("orderId" = Uuid, Path)),
    responses(
        (status = 200, description = "canceled", body = OrderBody),
        (status = 403, description = "not a customer", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such order of the caller's", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "too late to cancel (`invalid_transition`)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn cancel(
    State(state): State<AppState>,
    identity: Identity,
    ApiPath(order_id): ApiPath<Uuid>,
) -> Result<Json<OrderBody>, Problem> {
    identity.require(&[Role::Customer])?;
    Ok(Json(
        state
            .orders
            .cancel(&identity.user_id, order_id)
            .await?
            .into(),
    ))
}
