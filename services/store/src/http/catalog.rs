//! Stores and menus: owners change them, anyone signed in reads them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use service_runtime::problem::responses::NotAnOwner;
use service_runtime::problem::{ApiJson, ApiPath, ProblemBody};
use service_runtime::{Identity, Problem, Role};
use uuid::Uuid;

use super::AppState;
use crate::domain::{MenuItem, Store};
use crate::use_cases::catalog::{self as use_cases, MenuItemEdit};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewStore {
    /// 1 to 100 characters, not only white space; no U+0000. Kept without the white space at its ends.
    #[schema(
        example = "Chicken House",
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000]*[^\u0000\u0009-\u000d\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff][^\u0000]*$"
    )]
    pub name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Store)]
pub struct StoreBody {
    pub id: Uuid,
    pub name: String,
    pub owner_id: String,
    pub created_at: DateTime<Utc>,
    /// Its reviews' rating, as the review service last published it; null before the first.
    pub rating: Option<RatingBody>,
}

/// A store's rating.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = StoreRating)]
pub struct RatingBody {
    #[schema(example = 3)]
    pub review_count: u32,
    /// The average rating in hundredths of a star (467: 4.67 stars).
    #[schema(minimum = 100, maximum = 500, example = 467)]
    pub average_rating: u32,
}

impl From<Store> for StoreBody {
    fn from(s: Store) -> Self {
        Self {
            id: s.id,
            name: s.name,
            owner_id: s.owner_id,
            created_at: s.created_at,
            rating: s.rating.map(|r| RatingBody {
                review_count: r.review_count,
                average_rating: r.average_rating,
            }),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewMenuItem {
    /// 1 to 100 characters, not only white space; no U+0000. Kept without the white space at its ends.
    #[schema(
        example = "Fried chicken",
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000]*[^\u0000\u0009-\u000d\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff][^\u0000]*$"
    )]
    pub name: String,
    /// Won, 1 to 10,000,000.
    #[schema(example = 18000, minimum = 1, maximum = 10_000_000)]
    #[serde(deserialize_with = "service_runtime::json::whole_number")]
    pub price: i64,
}

/// Only the fields present change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MenuItemChange {
    /// 1 to 100 characters, not only white space; no U+0000. Kept without the white space at its ends.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000]*[^\u0000\u0009-\u000d\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff][^\u0000]*$"
    )]
    pub name: Option<String>,
    /// Won, 1 to 10,000,000.
    #[schema(minimum = 1, maximum = 10_000_000)]
    #[serde(
        default,
        deserialize_with = "service_runtime::json::optional_whole_number"
    )]
    pub price: Option<i64>,
    pub available: Option<bool>,
}

impl From<MenuItemChange> for MenuItemEdit {
    fn from(change: MenuItemChange) -> Self {
        Self {
            name: change.name,
            price: change.price,
            available: change.available,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = MenuItem)]
pub struct MenuItemBody {
    pub id: Uuid,
    pub store_id: Uuid,
    pub name: String,
    /// Won.
    #[schema(example = 18000)]
    pub price: i64,
    pub available: bool,
}

impl From<MenuItem> for MenuItemBody {
    fn from(m: MenuItem) -> Self {
        Self {
            id: m.id,
            store_id: m.store_id,
            name: m.name,
            price: m.price,
            available: m.available,
        }
    }
}

/// Opens a store owned by the caller.
#[utoipa::path(
    post,
    path = "/stores",
    tag = "store",
    request_body = NewStore,
    responses(
        (status = 201, description = "opened", body = StoreBody),
        NotAnOwner,
        (status = 409, description = "the caller already has a store with this name (`store_name_taken`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "empty or overlong name", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn create_store(
    State(state): State<AppState>,
    identity: Identity,
    ApiJson(request): ApiJson<NewStore>,
) -> Result<(StatusCode, Json<StoreBody>), Problem> {
    identity.require(&[Role::Owner])?;
    let store = use_cases::open_store(&state.pool, &identity.user_id, &request.name).await?;
    Ok((StatusCode::CREATED, Json(store.into())))
}

/// Every store.
#[utoipa::path(
    get,
    path = "/stores",
    tag = "store",
    responses(
        (status = 200, description = "every store", body = Vec<StoreBody>),
    )
)]
pub async fn list_stores(
    State(state): State<AppState>,
    _identity: Identity,
) -> Result<Json<Vec<StoreBody>>, Problem> {
    let stores = use_cases::stores(&state.pool).await?;
    Ok(Json(stores.into_iter().map(StoreBody::from).collect()))
}

/// One store.
#[utoipa::path(
    get,
    path = "/stores/{storeId}",
    tag = "store",
    params(("storeId" = Uuid, Path)),
    responses(
        (status = 200, description = "the store", body = StoreBody),
        (status = 404, description = "no such store", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn get_store(
    State(state): State<AppState>,
    _identity: Identity,
    ApiPath(store_id): ApiPath<Uuid>,
) -> Result<Json<StoreBody>, Problem> {
    let store = use_cases::store(&state.pool, store_id).await?;
    Ok(Json(store.into()))
}

/// Adds an item to the menu of the caller's store.
#[utoipa::path(
    post,
    path = "/stores/{storeId}/menu",
    tag = "store",
    params(("storeId" = Uuid, Path)),
    request_body = NewMenuItem,
    responses(
        (status = 201, description = "registered", body = MenuItemBody),
        NotAnOwner,
        (status = 404, description = "no such store of the caller's", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "the menu already has an item with this name (`menu_item_name_taken`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "invalid name or price", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn add_menu_item(
    State(state): State<AppState>,
    identity: Identity,
    ApiPath(store_id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<NewMenuItem>,
) -> Result<(StatusCode, Json<MenuItemBody>), Problem> {
    identity.require(&[Role::Owner])?;
    let item = use_cases::add_menu_item(
        &state.pool,
        &identity.user_id,
        store_id,
        &request.name,
        request.price,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(item.into())))
}

/// A store's menu.
#[utoipa::path(
    get,
    path = "/stores/{storeId}/menu",
    tag = "store",
    params(("storeId" = Uuid, Path)),
    responses(
        (status = 200, description = "the menu", body = Vec<MenuItemBody>),
        (status = 404, description = "no such store", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn list_menu(
    State(state): State<AppState>,
    _identity: Identity,
    ApiPath(store_id): ApiPath<Uuid>,
) -> Result<Json<Vec<MenuItemBody>>, Problem> {
    let menu = use_cases::menu(&state.pool, store_id).await?;
    Ok(Json(menu.into_iter().map(MenuItemBody::from).collect()))
}

/// Changes an item; publishes `MenuItemChanged` only if something actually changed.
#[utoipa::path(
    patch,
    path = "/stores/{storeId}/menu/{menuItemId}",
    tag = "store",
    params(("storeId" = Uuid, Path), ("menuItemId" = Uuid, Path)),
    request_body = MenuItemChange,
    responses(
        (status = 200, description = "the item as it is now", body = MenuItemBody),
        NotAnOwner,
        (status = 404, description = "no such store of the caller's, or no such item on its menu", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "the menu already has an item with this name (`menu_item_name_taken`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "invalid name or price", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn change_menu_item(
    State(state): State<AppState>,
    identity: Identity,
    ApiPath((store_id, menu_item_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(request): ApiJson<MenuItemChange>,
) -> Result<Json<MenuItemBody>, Problem> {
    identity.require(&[Role::Owner])?;
    let item = use_cases::change_menu_item(
        &state.pool,
        &identity.user_id,
        store_id,
        menu_item_id,
        request.into(),
    )
    .await?;
    Ok(Json(item.into()))
}

/// Removes an item from the menu of the caller's store.
#[utoipa::path(
    delete,
    path = "/stores/{storeId}/menu/{menuItemId}",
    tag = "store",
    params(("storeId" = Uuid, Path), ("menuItemId" = Uuid, Path)),
    responses(
        (status = 204, description = "removed"),
        NotAnOwner,
        (status = 404, description = "no such store of the caller's, or no such item on its menu", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn remove_menu_item(
    State(state): State<AppState>,
    identity: Identity,
    ApiPath((store_id, menu_item_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, Problem> {
    identity.require(&[Role::Owner])?;
    use_cases::remove_menu_item(&state.pool, &identity.user_id, store_id, menu_item_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
