//! The owner's work on store orders: each action is a transition of the domain's state machine
//! (a 409 when not allowed now).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use service_runtime::problem::responses::NotAnOwner;
use service_runtime::problem::{ApiJson, ApiPath, ApiQuery, ProblemBody};
use service_runtime::{Identity, Problem, Role};
use shared_events::OrderLine;
use uuid::Uuid;

use super::AppState;
use crate::domain::{Action, Reason, StoreOrder};
use crate::use_cases::StoreOrderError;
use crate::use_cases::store_orders as use_cases;

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = StoreOrder)]
pub struct StoreOrderBody {
    pub order_id: Uuid,
    pub store_id: Uuid,
    pub customer_id: String,
    pub items: Vec<OrderLine>,
    pub total_price: i64,
    pub delivery_address: String,
    /// The version of the lines, price and address: 1 as placed, one more per change the
    /// customer made before cooking started.
    #[schema(example = 1, minimum = 1)]
    pub version: u32,
    /// Received, Accepted, Rejected, Cooking, Cooked or Canceled.
    #[schema(example = "Received")]
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl From<StoreOrder> for StoreOrderBody {
    fn from(o: StoreOrder) -> Self {
        Self {
            order_id: o.order_id,
            store_id: o.store_id,
            customer_id: o.customer_id,
            items: o.items,
            total_price: o.total_price,
            delivery_address: o.delivery_address,
            version: o.version,
            status: o.status.as_str(),
            cancel_reason: o.reason,
            updated_at: o.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub store_id: Uuid,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rejection {
    /// 1 to 200 characters, not only white space; no U+0000. Kept without the white space at its ends.
    #[schema(
        example = "sold out",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000]*[^\u0000\u0009-\u000d\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff][^\u0000]*$"
    )]
    pub reason: String,
}

/// The store's orders, newest first; for the store's owner only.
#[utoipa::path(
    get,
    path = "/store-orders",
    tag = "store",
    params(ListQuery),
    responses(
        (status = 200, description = "the store's orders", body = Vec<StoreOrderBody>),
        (status = 400, description = "missing or malformed storeId (`malformed_query`)", body = ProblemBody, content_type = "application/problem+json"),
        NotAnOwner,
        (status = 404, description = "no such store of the caller's", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    identity: Identity,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<StoreOrderBody>>, Problem> {
    identity.require(&[Role::Owner])?;
    let orders = use_cases::of_store(&state.pool, &identity.user_id, query.store_id).await?;
    Ok(Json(orders.into_iter().map(StoreOrderBody::from).collect()))
}

/// The owner accepts the order.
#[utoipa::path(
    post,
    path = "/store-orders/{orderId}/accept",
    tag = "store",
    params(("orderId" = Uuid, Path)),
    responses(
        (status = 200, description = "Accepted", body = StoreOrderBody),
        NotAnOwner,
        (status = 404, description = "no such order in the caller's stores", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "not allowed from the order's current status (`invalid_transition`)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn accept(
    state: State<AppState>,
    identity: Identity,
    ApiPath(order_id): ApiPath<Uuid>,
) -> Result<Json<StoreOrderBody>, Problem> {
    act(state, identity, order_id, Action::Accept).await
}

/// The owner rejects the order; it is canceled and refunded.
#[utoipa::path(
    post,
    path = "/store-orders/{orderId}/reject",
    tag = "store",
    params(("orderId" = Uuid, Path)),
    request_body = Rejection,
    responses(
        (status = 200, description = "Rejected", body = StoreOrderBody),
        NotAnOwner,
        (status = 404, description = "no such order in the caller's stores", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "not allowed from the order's current status (`invalid_transition`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "empty or overlong reason", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn reject(
    state: State<AppState>,
    identity: Identity,
    ApiPath(order_id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<Rejection>,
) -> Result<Json<StoreOrderBody>, Problem> {
    let reason = Reason::parse(&request.reason).map_err(StoreOrderError::from)?;
    act(state, identity, order_id, Action::Reject(reason)).await
}

/// The kitchen starts cooking; the customer can no longer cancel.
#[utoipa::path(
    post,
    path = "/store-orders/{orderId}/start-cooking",
    tag = "store",
    params(("orderId" = Uuid, Path)),
    responses(
        (status = 200, description = "Cooking", body = StoreOrderBody),
        NotAnOwner,
        (status = 404, description = "no such order in the caller's stores", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "not allowed from the order's current status (`invalid_transition`)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn start_cooking(
    state: State<AppState>,
    identity: Identity,
    ApiPath(order_id): ApiPath<Uuid>,
) -> Result<Json<StoreOrderBody>, Problem> {
    act(state, identity, order_id, Action::StartCooking).await
}

/// The food is ready; its delivery starts.
#[utoipa::path(
    post,
    path = "/store-orders/{orderId}/finish-cooking",
    tag = "store",
    params(("orderId" = Uuid, Path)),
    responses(
        (status = 200, description = "Cooked", body = StoreOrderBody),
        NotAnOwner,
        (status = 404, description = "no such order in the caller's stores", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "not allowed from the order's current status (`invalid_transition`)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn finish_cooking(
    state: State<AppState>,
    identity: Identity,
    ApiPath(order_id): ApiPath<Uuid>,
) -> Result<Json<StoreOrderBody>, Problem> {
    act(state, identity, order_id, Action::FinishCooking).await
}

/// Applies the owner's `action` to the order (404 unless the caller owns its store).
async fn act(
    State(state): State<AppState>,
    identity: Identity,
    order_id: Uuid,
    action: Action,
) -> Result<Json<StoreOrderBody>, Problem> {
    identity.require(&[Role::Owner])?;
    let order = use_cases::act(&state.pool, &identity.user_id, order_id, action).await?;
    Ok(Json(order.into()))
}
