//! Delivery's HTTP API: riders complete deliveries or report accidents; riders, admins and the
//! order's customer look them up.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use backbone::outbox;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use service_runtime::problem::internal_error as internal;
use service_runtime::problem::{ApiJson, ApiPath, ApiQuery, ProblemBody};
use service_runtime::{Identity, Problem, Role};
use shared_events::Envelope;
use sqlx::PgPool;
use uuid::Uuid;

use crate::db;
use crate::domain::{Action, Delivery, Reason};
use crate::events::SOURCE;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/deliveries", get(list))
        .route("/deliveries/{delivery_id}/complete", post(complete))
        .route("/deliveries/{delivery_id}/accident", post(accident))
        .with_state(state)
}

/// The delivery service's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list, complete, accident),
    components(schemas(DeliveryBody, Accident)),
    tags((name = "delivery", description = "Deliveries: started when cooking finishes, finished by riders"))
)]
struct ApiDoc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    <ApiDoc as utoipa::OpenApi>::openapi()
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
    /// 1 to 200 characters once trimmed, not only white space; no U+0000.
    #[schema(
        example = "scooter crash",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"
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
    let delivery = db::by_order(&state.pool, query.order_id)
        .await
        .map_err(internal)?;
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
    state: State<AppState>,
    identity: Identity,
    ApiPath(delivery_id): ApiPath<Uuid>,
) -> Result<Json<DeliveryBody>, Problem> {
    act(state, identity, delivery_id, Action::Complete).await
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
    state: State<AppState>,
    identity: Identity,
    ApiPath(delivery_id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<Accident>,
) -> Result<Json<DeliveryBody>, Problem> {
    identity.require(&[Role::Rider, Role::Admin])?;
    let reason = Reason::parse(&request.reason)
        .map_err(|e| Problem::unprocessable("invalid_reason", e.to_string()))?;
    act(state, identity, delivery_id, Action::ReportAccident(reason)).await
}

/// Applies a rider's `action` (riders and admins only), with the event it publishes in the same
/// transaction; a 409 from the domain when the delivery is already over.
async fn act(
    State(state): State<AppState>,
    identity: Identity,
    delivery_id: Uuid,
    action: Action,
) -> Result<Json<DeliveryBody>, Problem> {
    identity.require(&[Role::Rider, Role::Admin])?;
    let not_found = || Problem::not_found(format!("no delivery {delivery_id}"));
    let mut tx = state.pool.begin().await.map_err(internal)?;
    let order_id = db::order_of(&mut *tx, delivery_id)
        .await
        .map_err(internal)?
        .ok_or_else(not_found)?;
    // Lock in the order the event handlers do, the order first and then the row: no deadlock.
    backbone::lock_order(&mut tx, order_id)
        .await
        .map_err(internal)?;
    let mut delivery = db::for_update(&mut tx, delivery_id)
        .await
        .map_err(internal)?
        .ok_or_else(not_found)?;
    let event = delivery
        .act(action, db::now())
        .map_err(|e| Problem::conflict("invalid_transition", e.to_string()))?;
    db::save_status(&mut tx, &delivery)
        .await
        .map_err(internal)?;
    outbox::enqueue(&mut tx, &Envelope::new(SOURCE, event))
        .await
        .map_err(internal)?;
    outbox::commit(tx).await.map_err(internal)?;
    tracing::info!(order.id = %delivery.order_id, delivery.id = %delivery.id, status = %delivery.status, "delivery moved");
    Ok(Json(delivery.into()))
}
