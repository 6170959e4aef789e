//! Notification's HTTP API: a customer's own notifications, everyone's for an admin.

use axum::extract::State;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use service_runtime::{Identity, Problem, Role};
use sqlx::PgPool;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::domain::Notification;
use crate::use_cases::{self, NotificationError};

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
}

pub fn router(state: AppState) -> Router {
    let (router, _) = routes().split_for_parts();
    router.with_state(state)
}

/// The notification service's part of the API document.
#[derive(OpenApi)]
#[openapi(tags((name = "notification", description = "Messages sent to customers about their orders")))]
struct ApiDoc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = routes().split_for_parts();
    api
}

/// Every route, declared once for the router and the API document.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi()).routes(routes!(list))
}

impl From<NotificationError> for Problem {
    fn from(e: NotificationError) -> Self {
        match e {
            NotificationError::Database(e) => service_runtime::problem::database_error(e),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Notification)]
pub struct NotificationBody {
    pub id: Uuid,
    pub customer_id: String,
    pub order_id: Uuid,
    pub event_type: String,
    pub message: String,
    pub channel: String,
    /// Pending, Sent or Failed.
    #[schema(example = "Sent")]
    pub status: &'static str,
    pub created_at: DateTime<Utc>,
}

impl From<Notification> for NotificationBody {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id,
            customer_id: n.customer_id,
            order_id: n.order_id,
            event_type: n.event_type,
            message: n.message,
            channel: n.channel,
            status: n.status.as_str(),
            created_at: n.created_at,
        }
    }
}

/// Newest first.
#[utoipa::path(
    get,
    path = "/notifications",
    tag = "notification",
    responses((status = 200, description = "the caller's notifications, newest first (every customer's for an admin)", body = Vec<NotificationBody>))
)]
async fn list(
    State(state): State<AppState>,
    identity: Identity,
) -> Result<Json<Vec<NotificationBody>>, Problem> {
    let customer = (identity.role != Role::Admin).then_some(identity.user_id.as_str());
    let notifications = use_cases::notifications_of(&state.pool, customer).await?;
    Ok(Json(notifications.into_iter().map(Into::into).collect()))
}
