//! Delivery's HTTP API: riders complete deliveries or report accidents; riders, admins and the
//! order's customer look them up.

use axum::extract::State;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use service_runtime::problem::{ApiJson, ApiPath, ApiQuery, ProblemBody};
use service_runtime::{Identity, Problem, Role};
use sqlx::PgPool;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::domain::{Action, Delivery, Reason};
use crate::use_cases::{self, DeliveryError};

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
}

pub fn router(state: AppState) -> Router {
    let (router, _) = routes().split_for_parts();
    router.with_state(state)
}

/// The delivery service's part of the API document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = routes().split_for_parts();
    api
}

/// Every route, declared once for the router and the API document.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(list))
        .routes(routes!(complete))
        .routes(routes!(accident))
}

#[derive(OpenApi)]
#[openapi(
    components(schemas(DeliveryBody, Accident)),
    tags((name = "delivery", description = "Deliveries: started when cooking finishes, finished by riders"))
)]
struct ApiDoc;

impl From<DeliveryError> for Problem {
    fn from(e: DeliveryError) -> Self {
        match e {
            DeliveryError::NotFound(_) => Problem::not_found(e.to_string()),
            DeliveryError::InvalidReason(e) => {
                Problem::unprocessable("invalid_reason", e.to_string())
            }
            DeliveryError::Transition(e) => Problem::conflict("invalid_transition", e.to_string()),
            DeliveryError::Database(e) => e.into(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Delivery)]
pub struct DeliveryBody {
    pub id: Uuid,
    pub order_id: Uuid,
    pub customer_id: String,
    pub address: String,
    /// Started, Completed, Canceled or Failed.
    #[schema(example = "Started")]
    pub status: &'static str,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Delivery> for DeliveryBody {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            order_id: d.order_id,
            customer_id: d.customer_id,
            address: d.address,
            status: d.status.as_str(),
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub order_id: Uuid,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Accident {
    /// 1 to 200 characters, not only white space; no U+0000. Kept without the white space at its ends.
    #[schema(
        example = "scooter crash",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000]*[^\u0000\u0009-\u000d\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff][^\u0000]*$"
    )]
    pub reason: String,
}

/// The order's delivery: for riders and admins, and for the order's customer (any other
/// customer sees none, as if there were none). Owners do not track deliveries: 403.
#[utoipa::path(
    get,
    path = "/deliveries",
    tag = "delivery",
    params(ListQuery),
    responses(
        (status = 200, description = "the order's delivery, if the caller may see it", body = Vec<DeliveryBody>),
        (status = 400, description = "missing or malformed orderId (`malformed_query`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "an owner", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn list(
    State(state): State<AppState>,
    identity: Identity,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<DeliveryBody>>, Problem> {
    identity.require(&[Role::Rider, Role::Admin, Role::Customer])?;
    let delivery = use_cases::of_order(&state.pool, query.order_id).await?;
    let visible = delivery
        .filter(|d| identity.role != Role::Customer || d.customer_id == identity.user_id)
        .map(DeliveryBody::from);
    Ok(Json(visible.into_iter().collect()))
}

/// The rider delivered the order.
#[utoipa::path(
    post,
    path = "/deliveries/{deliveryId}/complete",
    tag = "delivery",
    params(("deliveryId" = Uuid, Path)),
    responses(
        (status = 200, description = "Completed", body = DeliveryBody),
        (status = 403, description = "not a rider", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such delivery", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "the delivery is already over (`invalid_transition`)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn complete(
    State(state): State<AppState>,
    identity: Identity,
    ApiPath(delivery_id): ApiPath<Uuid>,
) -> Result<Json<DeliveryBody>, Problem> {
    identity.require(&[Role::Rider, Role::Admin])?;
    let delivery = use_cases::act(&state.pool, delivery_id, Action::Complete).await?;
    Ok(Json(delivery.into()))
}

/// The rider reports an accident: the delivery fails and the order is canceled and refunded.
#[utoipa::path(
    post,
    path = "/deliveries/{deliveryId}/accident",
    tag = "delivery",
    params(("deliveryId" = Uuid, Path)),
    request_body = Accident,
    responses(
        (status = 200, description = "Failed", body = DeliveryBody),
        (status = 403, description = "not a rider", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such delivery", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "the delivery is already over (`invalid_transition`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "empty or overlong reason (`invalid_reason`)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn accident(
    State(state): State<AppState>,
    identity: Identity,
    ApiPath(delivery_id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<Accident>,
) -> Result<Json<DeliveryBody>, Problem> {
    identity.require(&[Role::Rider, Role::Admin])?;
    let reason = Reason::parse(&request.reason).map_err(DeliveryError::from)?;
    let action = Action::ReportAccident(reason);
    let delivery = use_cases::act(&state.pool, delivery_id, action).await?;
    Ok(Json(delivery.into()))
}
