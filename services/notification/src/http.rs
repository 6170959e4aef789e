//! Notification's HTTP API: a customer's own notifications, a store owner's about the orders of
//! their stores, everyone's for an admin.

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

use crate::domain::{Notification, Reader};
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
#[openapi(tags((name = "notification", description = "Messages sent to customers about their orders, and to store owners about the orders of their stores")))]
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
    /// Who it is for: Customer (the order's customer) or Owner (the owner of the order's store).
    #[schema(example = "Customer")]
    pub recipient: &'static str,
    /// The order's customer (on an owner's notification too: whose order it is).
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
            recipient: n.recipient.as_str(),
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
///
/// A customer gets the notifications about their orders; an owner those about the orders of
/// their stores (new, canceled, an accident on the way), each once its store's `StoreRegistered`
/// has arrived; an admin every notification that has a recipient; anyone else those addressed
/// to their user id as a customer.
#[utoipa::path(
    get,
    path = "/notifications",
    tag = "notification",
    responses((status = 200, description = "the caller's notifications, newest first: a customer's own, an owner's about the orders of their stores (every addressed one for an admin)", body = Vec<NotificationBody>))
)]
async fn list(
    State(state): State<AppState>,
    identity: Identity,
) -> Result<Json<Vec<NotificationBody>>, Problem> {
    let reader = match identity.role {
        Role::Admin => Reader::Everyone,
        Role::Owner => Reader::Owner(&identity.user_id),
        Role::Customer | Role::Rider => Reader::Customer(&identity.user_id),
    };
    let notifications = use_cases::notifications_of(&state.pool, reader).await?;
    Ok(Json(notifications.into_iter().map(Into::into).collect()))
}
