//! The parked-row actions as admin routes of every PostgreSQL-backed service, for a cluster where
//! no one runs commands beside the database: through the gateway they are
//! `/admin/<service>/outbox…`, for the admin role only (the service checks it again).

use axum::extract::State;
use axum::{Json, Router};
use serde::Serialize;
use service_runtime::problem::responses::NotAnAdmin;
use service_runtime::problem::{ApiJson, ProblemBody};
use service_runtime::{Identity, Problem, Role};

use crate::backlog::Backlog;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{ParkedRow, Selection, SelectionBody};

/// `GET /admin/outbox`, `POST /admin/outbox/retry`, `POST /admin/outbox/drop`.
/// Their gauges are refreshed at once after a change.
pub fn router(backlog: Backlog) -> Router {
    let (router, _) = routes().split_for_parts();
    router.with_state(backlog)
}

/// The routes' part of the API document, as a service serves them.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// Each route once: its path and method come from the handler's `#[utoipa::path]`.
fn routes() -> OpenApiRouter<Backlog> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(list))
        .routes(routes!(retry))
        .routes(routes!(drop))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    components(schemas(ParkedRow, SelectionBody, Affected)),
    tags((name = "outbox", description = "Outbox rows the relay could not publish, for operators"))
)]
struct ApiDoc;

/// The rows an action applied to.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Affected {
    pub event_ids: Vec<Uuid>,
}

/// The outbox rows parked now, oldest first (admin).
#[utoipa::path(
    get,
    path = "/admin/outbox",
    operation_id = "outbox.list",
    tag = "outbox",
    responses(
        (status = 200, description = "the parked rows", body = Vec<ParkedRow>),
        NotAnAdmin,
    )
)]
async fn list(
    State(backlog): State<Backlog>,
    identity: Identity,
) -> Result<Json<Vec<ParkedRow>>, Problem> {
    identity.require(&[Role::Admin])?;
    Ok(Json(super::list(&backlog.pool).await?))
}

/// Puts parked rows back in the relay's queue, e.g. `{"eventIds":["…"]}` or `{"all":true}`
/// (admin). Ids of rows that are not parked are ignored.
#[utoipa::path(
    post,
    path = "/admin/outbox/retry",
    operation_id = "outbox.retry",
    tag = "outbox",
    request_body = SelectionBody,
    responses(
        (status = 200, description = "the rows retried", body = Affected),
        NotAnAdmin,
        (status = 422, description = "no rows named, or both ways (`invalid_selection`)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn retry(
    State(backlog): State<Backlog>,
    identity: Identity,
    ApiJson(body): ApiJson<SelectionBody>,
) -> Result<Json<Affected>, Problem> {
    let selection = admitted_selection(&identity, body)?;
    let retried = super::retry(&backlog.pool, &selection).await;
    affected(&identity, "retried", retried, &backlog).await
}

/// Deletes parked rows, whose events are then never published (admin).
#[utoipa::path(
    post,
    path = "/admin/outbox/drop",
    operation_id = "outbox.drop",
    tag = "outbox",
    request_body = SelectionBody,
    responses(
        (status = 200, description = "the rows dropped", body = Affected),
        NotAnAdmin,
        (status = 422, description = "no rows named, or both ways (`invalid_selection`)", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
async fn drop(
    State(backlog): State<Backlog>,
    identity: Identity,
    ApiJson(body): ApiJson<SelectionBody>,
) -> Result<Json<Affected>, Problem> {
    let selection = admitted_selection(&identity, body)?;
    let dropped = super::drop(&backlog.pool, &selection).await;
    affected(&identity, "dropped", dropped, &backlog).await
}

/// An admin's selection of parked rows, or the problem that refuses it.
fn admitted_selection(identity: &Identity, body: SelectionBody) -> Result<Selection, Problem> {
    identity.require(&[Role::Admin])?;
    body.selection().map_err(invalid)
}

/// The answer to an action on the rows `done` (retried, dropped), logged.
async fn affected(
    identity: &Identity,
    done: &'static str,
    outcome: sqlx::Result<Vec<Uuid>>,
    backlog: &Backlog,
) -> Result<Json<Affected>, Problem> {
    let event_ids = outcome?;
    if let Err(e) = backlog.refresh().await {
        tracing::debug!(error = %e, "cannot refresh the outbox's gauges");
    }
    tracing::warn!(user.id = %identity.user_id, rows = event_ids.len(), action = done,
        "parked outbox rows changed by an admin");
    Ok(Json(Affected { event_ids }))
}

fn invalid(reason: &'static str) -> Problem {
    Problem::unprocessable("invalid_selection", reason)
}
