//! Payment's HTTP API.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use service_runtime::problem::responses::NotAnAdmin;
use service_runtime::problem::{ApiJson, ApiQuery, ProblemBody};
use service_runtime::{Identity, Problem, Role};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::domain::{Adjustment, Payment, PaymentStatus};
use crate::faults::{DelayRange, FaultSettings, Faults};
use crate::use_cases::{Charge, ChargeRequest, PaymentError, Payments};

#[derive(Clone)]
pub struct AppState {
    pub payments: Payments,
    pub faults: Faults,
}

pub fn router(state: AppState) -> Router {
    let (router, _) = routes().split_for_parts();
    router.with_state(state)
}

/// The payment service's part of the API document: its own paths, admin ones included as the
/// service serves them (`/admin/faults`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = routes().split_for_parts();
    api
}

/// Every route, declared once for the router and the API document.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(create, list))
        .routes(routes!(get_faults, put_faults))
}

#[derive(OpenApi)]
#[openapi(
    components(schemas(CreatePayment, PaymentBody, AdjustmentBody, FaultSettings, DelayRange)),
    tags((name = "payment", description = "Payments of orders, and fault injection for demonstrations"))
)]
struct ApiDoc;

impl From<PaymentError> for Problem {
    fn from(e: PaymentError) -> Self {
        match e {
            PaymentError::InvalidAmount(e) => {
                Problem::unprocessable("invalid_amount", e.to_string())
            }
            PaymentError::Injected(e) => Problem::unavailable("injected_failure", e.to_string(), 1),
            PaymentError::KeyReused => Problem::conflict("idempotency_key_reused", e.to_string()),
            PaymentError::Interrupted(e) => service_runtime::problem::internal_error(e),
            PaymentError::Database(e) => e.into(),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePayment {
    pub order_id: Uuid,
    pub customer_id: String,
    pub amount: i64,
    /// For the top-up of a change that made the (paid) order dearer: the change's id, which is
    /// then the idempotency key, and `amount` the difference. The answer's `id` is the change's.
    pub change_id: Option<Uuid>,
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
    /// Money moved after the payment for the order's changes, oldest first (`GET /payments`
    /// only; absent when there is none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub adjustments: Vec<AdjustmentBody>,
}

/// Money moved for one change of an order after its payment.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Adjustment)]
pub struct AdjustmentBody {
    /// The change's id (the order service's), the adjustment's key.
    pub change_id: Uuid,
    /// Won: a top-up for a dearer change (positive) or the refund of a cheaper one's
    /// difference (negative).
    #[schema(example = 4000)]
    pub amount: i64,
    /// Approved (a top-up charged), Declined (a top-up refused), Refunded (money given back)
    /// or Voided (a change given up before its top-up came).
    #[schema(example = "Approved")]
    pub status: &'static str,
    /// The order service has announced the change (`OrderChanged`): a top-up is kept.
    pub confirmed: bool,
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
            adjustments: Vec::new(),
        }
    }
}

impl From<&Adjustment> for AdjustmentBody {
    fn from(a: &Adjustment) -> Self {
        Self {
            change_id: a.change_id,
            amount: a.amount,
            status: a.status.as_str(),
            confirmed: a.confirmed,
            created_at: a.created_at,
            updated_at: a.updated_at,
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
) -> Result<(StatusCode, Json<PaymentBody>), Problem> {
    if identity.role != Role::Admin && identity.user_id != request.customer_id {
        return Err(Problem::forbidden(
            "a payment is made by the order's customer",
        ));
    }
    let charge = state.payments.charge(request.into()).await?;
    respond(charge)
}

impl From<CreatePayment> for ChargeRequest {
    fn from(request: CreatePayment) -> Self {
        Self {
            order_id: request.order_id,
            customer_id: request.customer_id,
            amount: request.amount,
            change_id: request.change_id,
        }
    }
}

/// 201 for a payment approved now, 200 for the order's existing one, 402 when declined.
fn respond(
    Charge { payment, created }: Charge,
) -> Result<(StatusCode, Json<PaymentBody>), Problem> {
    if payment.status == PaymentStatus::Declined {
        return Err(Problem::new(
            StatusCode::PAYMENT_REQUIRED,
            "payment_declined",
            format!("payment of {} won was declined", payment.amount),
        ));
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(PaymentBody::from(&payment))))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub order_id: Uuid,
}

/// The order's payments, each with the adjustments of the order's changes: for its customer or
/// an admin (anyone else sees none).
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
    let found = state.payments.of_order(query.order_id).await?;
    let visible = found
        .filter(|(p, _)| identity.role == Role::Admin || p.customer_id == identity.user_id)
        .map(|(payment, adjustments)| PaymentBody {
            adjustments: adjustments.iter().map(AdjustmentBody::from).collect(),
            ..PaymentBody::from(&payment)
        });
    Ok(Json(visible.into_iter().collect()))
}

/// The faults injected now (admin).
#[utoipa::path(
    get,
    path = "/admin/faults",
    tag = "payment",
    responses(
        (status = 200, description = "the faults in force", body = FaultSettings),
        NotAnAdmin,
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
        NotAnAdmin,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::InvalidAmount;
    use crate::faults::InjectedFailure;

    #[test]
    fn use_case_errors_answer_with_their_status_and_code() {
        let cases = [
            (
                PaymentError::InvalidAmount(InvalidAmount(0)),
                422,
                "invalid_amount",
            ),
            (
                PaymentError::Injected(InjectedFailure),
                503,
                "injected_failure",
            ),
            (PaymentError::KeyReused, 409, "idempotency_key_reused"),
        ];
        for (error, status, code) in cases {
            let problem = Problem::from(error);
            assert_eq!((problem.status.as_u16(), problem.code), (status, code));
        }
        let injected = Problem::from(PaymentError::Injected(InjectedFailure));
        assert_eq!(injected.retry_after, Some(1));
        assert_eq!(injected.detail, "payment failed (fault injection)");
    }
}
