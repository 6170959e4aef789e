//! Mypage's HTTP API: a customer's own order views, and the popular menus for anyone signed in.

use axum::extract::State;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use service_runtime::problem::{ApiPath, ApiQuery, ProblemBody, internal_error};
use service_runtime::{Identity, Problem, Role};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::db::store::Store;
use crate::domain::OrderView;
use crate::use_cases::{self, Popularity, Reader, ViewError};

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
}

pub fn router(state: AppState) -> Router {
    let (router, _) = routes().split_for_parts();
    router.with_state(state)
}

/// Mypage's part of the API document.
#[derive(OpenApi)]
#[openapi(tags((name = "mypage", description = "The customer's read model of orders, and popular menus")))]
struct ApiDoc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = routes().split_for_parts();
    api
}

/// Every route, declared once for the router and the API document.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(list))
        .routes(routes!(one))
        .routes(routes!(popular))
}

impl From<ViewError> for Problem {
    fn from(e: ViewError) -> Self {
        match e {
            ViewError::NotFound(_) => Problem::not_found(e.to_string()),
            ViewError::InvalidLimit => Problem::unprocessable("invalid_limit", e.to_string()),
            ViewError::Database(e) => internal_error(e),
            ViewError::Store(e) => internal_error(e),
        }
    }
}

#[utoipa::path(get, path = "/mypage/orders", tag = "mypage",
    responses((status = 200, description = "the caller's order views", body = Vec<OrderView>)))]
async fn list(
    State(state): State<AppState>,
    identity: Identity,
) -> Result<Json<Vec<OrderView>>, Problem> {
    Ok(Json(
        use_cases::views_of(&state.store, &identity.user_id).await?,
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
    let reader = Reader {
        user_id: &identity.user_id,
        admin: identity.role == Role::Admin,
    };
    Ok(Json(use_cases::view(&state.store, reader, order_id).await?))
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
    /// The store's rating (from the review service's StoreRatingChanged); null before its first
    /// review.
    pub store_rating: Option<Rating>,
}

/// A store's rating.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = MypageStoreRating)]
pub struct Rating {
    pub review_count: u32,
    /// The average rating × 100 (100 to 500).
    #[schema(example = 467)]
    pub average_rating: u32,
}

impl From<Popularity> for PopularMenu {
    fn from(p: Popularity) -> Self {
        Self {
            menu_item_id: p.menu_item_id,
            store_id: p.store_id,
            name: p.name,
            order_count: p.order_count,
            store_rating: p.store_rating.map(|r| Rating {
                review_count: r.review_count,
                average_rating: r.average_rating,
            }),
        }
    }
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
    let menus = use_cases::popular(&state.store, query.limit).await?;
    Ok(Json(menus.into_iter().map(Into::into).collect()))
}
