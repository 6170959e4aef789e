//! Notification's HTTP API: a customer's own notifications, everyone's for an admin.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use service_runtime::{Identity, Problem, Role};
use sqlx::PgPool;
use uuid::Uuid;

use crate::db;
use crate::domain::Notification;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/notifications", get(list))
        .with_state(state)
}

/// The notification service's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list),
    tags((name = "notification", description = "Messages sent to customers about their orders"))
)]
struct ApiDoc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    <ApiDoc as utoipa::OpenApi>::openapi()
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
    let notifications = db::list(&state.pool, customer).await.map_err(|e| {
        tracing::error!(error = %e, "cannot list notifications");
        Problem::internal()
    })?;
    Ok(Json(notifications.into_iter().map(Into::into).collect()))
}
