//! The API document, served at `GET /openapi.json` without a token. The document is generated
//! from the services' and the gateway's types by the `api-docs` crate and committed; the gateway
//! embeds the committed file, so it needs none of the services to serve it, and a test in
//! `api-docs` keeps the file equal to what the code generates.

use axum::http::header;
use axum::response::IntoResponse;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::dev_token;
use crate::live;
use crate::ops;
use crate::probes;
use crate::state::Gateway;

/// The committed document, as served.
pub const DOCUMENT: &str = include_str!("../../docs/openapi.json");

/// The gateway's own routes, for the generator to merge with the services' documents.
#[derive(utoipa::OpenApi)]
#[openapi(
    components(schemas(dev_token::DevTokenRequest, dev_token::DevToken, probes::ServiceHealth)),
    tags(
        (name = "auth", description = "Tokens for the local and test stacks"),
        (name = "health", description = "The gateway's own liveness and readiness"),
        (name = "meta", description = "This document"),
        (name = "live", description = "An order's status changes and domain events as they happen (server-sent events)"),
        (name = "ops", description = "The services' readiness and watched metrics, for admins"),
    )
)]
struct ApiDoc;

/// The gateway's own part of the document: the development token, its health endpoints and the
/// document itself.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = routes(true).into_openapi();
    doc.merge(service_runtime::ops::openapi());
    doc
}

/// The gateway's own routes, each declared once by its handler's `#[utoipa::path]`: this
/// document, an order's live stream, the services' health for admins, and the development token
/// where `dev_tokens` is on. (The console's files, at `/` and `/console/…`, are no API.)
pub fn routes(dev_tokens: bool) -> OpenApiRouter<Gateway> {
    let routes = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(serve))
        .routes(routes!(live::watch))
        .routes(routes!(ops::services));
    if dev_tokens {
        routes.routes(routes!(dev_token::issue))
    } else {
        routes
    }
}

/// This OpenAPI document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    security(()),
    responses((status = 200, description = "the OpenAPI document of the public API", content_type = "application/json", body = Object))
)]
pub async fn serve() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}
