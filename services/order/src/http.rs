//! The order service's HTTP API (customers, through the gateway).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use service_runtime::problem::{ApiJson, ApiPath};
use service_runtime::{Identity, Problem, Role};
use shared_events::OrderLine;
use uuid::Uuid;

use crate::domain::{Order, OrderRequest, RequestedItem};
use crate::orders::{OrderError, Orders, Placement};
use crate::payments::PaymentError;

#[derive(Clone)]
pub struct AppState {
    pub orders: Orders,
    /// Seconds a client should wait before retrying when payment is unavailable.
    pub retry_after: u64,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/orders", post(place).get(list))
        .route("/orders/{order_id}", get(one))
        .route("/orders/{order_id}/cancel", post(cancel))
        .with_state(state)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlaceOrder {
    pub store_id: Uuid,
    pub items: Vec<ItemRequest>,
    pub delivery_address: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ItemRequest {
    pub menu_item_id: Uuid,
    /// Signed, so that a negative quantity is a validation error (422), not a type error.
    pub quantity: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderBody {
    pub id: Uuid,
    pub customer_id: String,
    pub store_id: Uuid,
    pub items: Vec<OrderLine>,
    pub total_price: i64,
    pub delivery_address: String,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<Uuid>,
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
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

impl From<OrderError> for Problem {
    fn from(e: OrderError) -> Self {
        match e {
            OrderError::Invalid(invalid) => Problem::unprocessable(invalid.code(), invalid.to_string()),
            OrderError::NotFound => Problem::not_found("no such order"),
            OrderError::Transition(t) => Problem::conflict("invalid_transition", t.to_string()),
            OrderError::Database(e) => {
                tracing::error!(error = %e, "order request failed");
                Problem::internal()
            }
        }
    }
}

const MAX_IDEMPOTENCY_KEY: usize = 200;

async fn place(
    State(state): State<AppState>,
    identity: Identity,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PlaceOrder>,
) -> Result<Response, Problem> {
    identity.require(&[Role::Customer])?;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .map(str::trim)
                .filter(|k| !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY)
                .ok_or_else(|| Problem::bad_request("invalid_idempotency_key", "Idempotency-Key must be 1 to 200 visible characters"))?,
        ),
    };
    let request = OrderRequest {
        store_id: body.store_id,
        items: body
            .items
            .into_iter()
            .map(|i| RequestedItem { menu_item_id: i.menu_item_id, quantity: i.quantity })
            .collect(),
        delivery_address: body.delivery_address,
    };
    let placement = state.orders.place(&identity.user_id, &request, key).await?;
    Ok(match placement {
        Placement::Placed(order) => {
            let location = format!("/orders/{}", order.id);
            (StatusCode::CREATED, [(header::LOCATION, location)], Json(OrderBody::from(order))).into_response()
        }
        Placement::Declined(order) => Problem::new(
            StatusCode::PAYMENT_REQUIRED,
            "payment_declined",
            format!("the payment of {} won for order {} was declined", order.total_price, order.id),
        )
        .into_response(),
        Placement::Unavailable(order, reason) => unavailable(&state, &order, &reason).into_response(),
        Placement::InProgress(order) => Problem::conflict(
            "order_in_progress",
            format!("order {} with this Idempotency-Key is still being paid", order.id),
        )
        .with_retry_after(1)
        .into_response(),
    })
}

fn unavailable(state: &AppState, order: &Order, reason: &PaymentError) -> Problem {
    tracing::warn!(order.id = %order.id, reason = %reason, "order failed: payment unavailable");
    Problem::unavailable(
        "payment_unavailable",
        "payment is unavailable right now; nothing was charged, please try again shortly",
        state.retry_after,
    )
}

async fn list(State(state): State<AppState>, identity: Identity) -> Result<Json<Vec<OrderBody>>, Problem> {
    let orders = state.orders.list(&identity.user_id).await?;
    Ok(Json(orders.into_iter().map(OrderBody::from).collect()))
}

async fn one(
    State(state): State<AppState>,
    identity: Identity,
    ApiPath(order_id): ApiPath<Uuid>,
) -> Result<Json<OrderBody>, Problem> {
    Ok(Json(state.orders.get(&identity.user_id, order_id).await?.into()))
}

async fn cancel(
    State(state): State<AppState>,
    identity: Identity,
    ApiPath(order_id): ApiPath<Uuid>,
) -> Result<Json<OrderBody>, Problem> {
    identity.require(&[Role::Customer])?;
    Ok(Json(state.orders.cancel(&identity.user_id, order_id).await?.into()))
}
