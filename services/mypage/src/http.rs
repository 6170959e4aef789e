//! Mypage's HTTP API: a customer's own order views, and the popular menus for anyone signed in.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use service_runtime::problem::{ApiPath, ApiQuery};
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

fn internal(e: impl std::fmt::Display) -> Problem {
    tracing::error!(error = %e, "mypage request failed");
    Problem::internal()
}

/// The live generation's collections, looked up per request so a rebuild swaps in seamlessly.
async fn live(store: &Store) -> Result<Views, Problem> {
    let generations = store.generations().await.map_err(internal)?;
    Ok(store.views(&generations.active))
}

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

#[derive(Debug, Deserialize)]
pub struct PopularQuery {
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PopularMenu {
    pub menu_item_id: String,
    pub store_id: String,
    pub name: String,
    pub order_count: i64,
}

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
