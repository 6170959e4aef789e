//! Mypage's HTTP API: a customer's own order views, and the popular menus for anyone signed in.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use service_runtime::problem::internal_error as internal;
use service_runtime::problem::{ApiPath, ApiQuery, ProblemBody};
use service_runtime::{Identity, Problem, Role};
use uuid::Uuid;

use crate::domain::OrderView;
use crate::store::{Store, Views};

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/mypage/orders", get(list))
        .route("/mypage/orders/{order_id}", get(one))
        .route("/mypage/popular-menus", get(popular))
        .with_state(state)
}

/// Mypage's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list, one, popular),
    tags((name = "mypage", description = "The customer's read model of orders, and popular menus"))
)]
struct ApiDoc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    <ApiDoc as utoipa::OpenApi>::openapi()
}

/// The live generation's collections, looked up (at most a second ago) so a rebuild swaps in
/// seamlessly.
async fn live(store: &Store) -> Result<Views, Problem> {
    store.live().await.map_err(internal)
}

#[utoipa::path(get, path = "/mypage/orders", tag = "mypage",
    responses((status = 200, description = "the caller's order views", body = Vec<OrderView>)))]
async fn list(
    State(state): State<AppState>,
    identity: Identity,
) -> Result<Json<Vec<OrderView>>, Problem> {
    let views = live(&state.store).await?;
    Ok(Json(
        views.views_of(&identity.user_id).await.map_err(internal)?,
    ))
}

/// Another customer's order is a 404, as if it did not exist.
#[utoipa::path(get, path = "/mypage/orders/{orderId}", tag = "mypage",
    params(("orderId" = Uuid, Path)),
    responses(
        (status = 200, description = "the order view", body = OrderView),
        (status = 404, description = "no such order of the caller's", body = ProblemBody, content_type = "application/problem+json"),
    ))]
async fn one(
    State(state): State<AppState>,
    identity: Identity,
    ApiPath(order_id): ApiPath<Uuid>,
) -> Result<Json<OrderView>, Problem> {
    let views = live(&state.store).await?;
    let view = views.view(order_id).await.map_err(internal)?;
    view.filter(|v| {
        identity.role == Role::Admin || v.customer_id.as_deref() == Some(identity.user_id.as_str())
    })
    .map(Json)
    .ok_or_else(|| Problem::not_found(format!("no order {order_id}")))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PopularQuery {
    /// 1–100, 10 by default.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PopularMenu {
    pub menu_item_id: String,
    pub store_id: String,
    pub name: String,
    pub order_count: i64,
}

#[utoipa::path(get, path = "/mypage/popular-menus", tag = "mypage",
    params(PopularQuery),
    responses(
        (status = 200, description = "menu items by orderCount, most ordered first", body = Vec<PopularMenu>),
        (status = 422, description = "limit out of 1..100 (`invalid_limit`)", body = ProblemBody, content_type = "application/problem+json"),
    ))]
async fn popular(
    State(state): State<AppState>,
    _identity: Identity,
    ApiQuery(query): ApiQuery<PopularQuery>,
) -> Result<Json<Vec<PopularMenu>>, Problem> {
    let limit = query.limit.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(Problem::unprocessable(
            "invalid_limit",
            "limit must be between 1 and 100",
        ));
    }
    let views = live(&state.store).await?;
    let menus = views.popular(limit).await.map_err(internal)?;
    Ok(Json(
        menus
            .into_iter()
            .map(|(menu_item_id, store_id, name, order_count)| PopularMenu {
                menu_item_id,
                store_id,
                name,
                order_count,
            })
            .collect(),
    ))
}
