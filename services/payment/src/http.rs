//! Payment's HTTP API.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use backbone::outbox;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use service_runtime::problem::internal_error as internal;
use service_runtime::problem::{ApiJson, ApiQuery, ProblemBody};
use service_runtime::{Identity, Problem, Role};
use sqlx::PgPool;
use uuid::Uuid;

use crate::db;
use crate::domain::{Amount, Payment, PaymentStatus, decide};
use crate::events::{load_ledger, publish_all};
use crate::faults::{DelayRange, FaultSettings, Faults};

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub decline_above: i64,
    pub faults: Faults,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/payments", post(create).get(list))
        .route("/admin/faults", get(get_faults).put(put_faults))
        .with_state(state)
}

/// The payment service's part of the API document: its own paths, admin ones included as the
/// service serves them (`/admin/faults`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(create, list, get_faults, put_faults),
    components(schemas(CreatePayment, PaymentBody, FaultSettings, DelayRange)),
    tags((name = "payment", description = "Payments of orders, and fault injection for demonstrations"))
)]
struct ApiDoc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    <ApiDoc as utoipa::OpenApi>::openapi()
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePayment {
    pub order_id: Uuid,
    pub customer_id: String,
    pub amount: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Payment)]
pub struct PaymentBody {
    pub id: Uuid,
    pub order_id: Uuid,
    pub customer_id: String,
    /// Won.
    #[schema(example = 36000)]
    pub amount: i64,
    /// Approved, Declined or Refunded.
    #[schema(example = "Approved")]
    pub status: &'static str,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Payment> for PaymentBody {
    fn from(p: &Payment) -> Self {
        Self {
            id: p.id,
            order_id: p.order_id,
            customer_id: p.customer_id.clone(),
            amount: p.amount,
            status: p.status.as_str(),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// Charges an order, once: a repeat for the same order returns the first payment.
/// 201 when approved now, 200 when it already existed, 402 when declined.
#[utoipa::path(
    post,
    path = "/payments",
    tag = "payment",
    request_body = CreatePayment,
    responses(
        (status = 201, description = "approved now", body = PaymentBody),
        (status = 200, description = "the order's existing payment", body = PaymentBody),
        (status = 402, description = "declined (`payment_declined`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "not the order's customer", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "the order already has a payment with another amount or customer (`idempotency_key_reused`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "invalid amount (`invalid_amount`)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn create(
    State(state): State<AppState>,
    identity: Identity,
    ApiJson(request): ApiJson<CreatePayment>,
) -> Result<Response, Problem> {
    if identity.role != Role::Admin && identity.user_id != request.customer_id {
        return Err(Problem::forbidden(
            "a payment is made by the order's customer",
        ));
    }
    let amount =
        Amount::parse(request.amount).map_err(|e| Problem::unprocessable("invalid_amount", e))?;
    // A charge that has started runs to its end even if the caller stops waiting (its timeout
    // fired, its connection dropped): the caller then learns the outcome through the events.
    tokio::spawn(charge(state, request, amount))
        .await
        .map_err(internal)?
}

async fn charge(
    state: AppState,
    request: CreatePayment,
    amount: Amount,
) -> Result<Response, Problem> {
    state.faults.inject().await?;
    let now = service_runtime::clock::now();
    let candidate = Payment {
        id: Uuid::now_v7(),
        order_id: request.order_id,
        customer_id: request.customer_id,
        amount: amount.won(),
        status: decide(amount, state.decline_above),
        created_at: now,
        updated_at: now,
    };
    let mut tx = state.pool.begin().await.map_err(internal)?;
    let mut ledger = load_ledger(&mut tx, candidate.order_id)
        .await
        .map_err(internal)?;
    let charged = ledger.charge(candidate.clone());
    if !charged.created {
        let existing = charged.payment;
        if existing.amount != candidate.amount || existing.customer_id != candidate.customer_id {
            return Err(Problem::conflict(
                "idempotency_key_reused",
                "this order already has a payment with another amount or customer",
            ));
        }
        return Ok(respond(&existing, StatusCode::OK));
    }
    db::insert(&mut tx, &charged.payment)
        .await
        .map_err(internal)?;
    publish_all(&mut tx, charged.publish)
        .await
        .map_err(internal)?;
    outbox::commit(tx).await.map_err(internal)?;
    let payment = charged.payment;
    tracing::info!(order.id = %payment.order_id, payment.id = %payment.id, status = %payment.status, "payment decided");
    Ok(respond(&payment, StatusCode::CREATED))
}

fn respond(payment: &Payment, created: StatusCode) -> Response {
    if payment.status == PaymentStatus::Declined {
        return Problem::new(
            StatusCode::PAYMENT_REQUIRED,
            "payment_declined",
            format!("payment of {} won was declined", payment.amount),
        )
        .into_response();
    }
    (created, Json(PaymentBody::from(payment))).into_response()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub order_id: Uuid,
}

/// The order's payments: for its customer or an admin (anyone else sees none).
#[utoipa::path(
    get,
    path = "/payments",
    tag = "payment",
    params(ListQuery),
    responses(
        (status = 200, description = "the order's payments visible to the caller", body = Vec<PaymentBody>),
        (status = 400, description = "missing or malformed orderId (`malformed_query`)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn list(
    State(state): State<AppState>,
    identity: Identity,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<PaymentBody>>, Problem> {
    let payment = db::by_order(&state.pool, query.order_id, false)
        .await
        .map_err(internal)?;
    let visible = payment
        .filter(|p| identity.role == Role::Admin || p.customer_id == identity.user_id)
        .map(|p| PaymentBody::from(&p));
    Ok(Json(visible.into_iter().collect()))
}

/// The faults injected now (admin).
#[utoipa::path(
    get,
    path = "/admin/faults",
    tag = "payment",
    responses(
        (status = 200, description = "the faults in force", body = FaultSettings),
        (status = 403, description = "not an admin", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn get_faults(
    State(state): State<AppState>,
    identity: Identity,
) -> Result<Json<FaultSettings>, Problem> {
    identity.require(&[Role::Admin])?;
    Ok(Json(state.faults.get()))
}

/// Changes the injected faults at run time, e.g. `{"delay":{"minMs":400,"maxMs":620},"failureRate":0}`.
#[utoipa::path(
    put,
    path = "/admin/faults",
    tag = "payment",
    request_body = FaultSettings,
    responses(
        (status = 200, description = "the faults now in force", body = FaultSettings),
        (status = 403, description = "not an admin", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "out of range (`invalid_faults`)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn put_faults(
    State(state): State<AppState>,
    identity: Identity,
    ApiJson(settings): ApiJson<FaultSettings>,
) -> Result<Json<FaultSettings>, Problem> {
    identity.require(&[Role::Admin])?;
    settings
        .validate()
        .map_err(|e| Problem::unprocessable("invalid_faults", e))?;
    state.faults.set(settings);
    tracing::warn!(?settings, "payment fault injection changed");
    Ok(Json(settings))
}
