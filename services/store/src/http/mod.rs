//! The store's HTTP API: catalog management for owners, reading for everyone signed in, and the
//! owner's work on store orders.

mod catalog;
mod store_orders;

use axum::Router;
use service_runtime::Problem;
use sqlx::PgPool;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::use_cases::{CatalogError, StoreOrderError};

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
}

pub fn router(state: AppState) -> Router {
    let (router, _) = routes().split_for_parts();
    router.with_state(state)
}

/// The store service's part of the API document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = routes().split_for_parts();
    api
}

/// Every route, declared once for the router and the API document.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(catalog::create_store, catalog::list_stores))
        .routes(routes!(catalog::get_store))
        .routes(routes!(catalog::add_menu_item, catalog::list_menu))
        .routes(routes!(
            catalog::change_menu_item,
            catalog::remove_menu_item
        ))
        .routes(routes!(store_orders::list))
        .routes(routes!(store_orders::accept))
        .routes(routes!(store_orders::reject))
        .routes(routes!(store_orders::start_cooking))
        .routes(routes!(store_orders::finish_cooking))
}

#[derive(OpenApi)]
#[openapi(
    components(schemas(
        catalog::NewStore,
        catalog::StoreBody,
        catalog::RatingBody,
        catalog::NewMenuItem,
        catalog::MenuItemChange,
        catalog::MenuItemBody,
        store_orders::StoreOrderBody,
        store_orders::Rejection,
    )),
    tags((name = "store", description = "Stores, menus, and the owners' work on orders"))
)]
struct ApiDoc;

impl From<CatalogError> for Problem {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::StoreNotFound(_) | CatalogError::MenuItemNotFound(_) => {
                Problem::not_found(e.to_string())
            }
            CatalogError::Invalid(invalid) => {
                Problem::unprocessable(invalid.code(), invalid.to_string())
            }
            CatalogError::StoreNameTaken => Problem::conflict("store_name_taken", e.to_string()),
            CatalogError::MenuItemNameTaken => {
                Problem::conflict("menu_item_name_taken", e.to_string())
            }
            CatalogError::Database(e) => e.into(),
        }
    }
}

impl From<StoreOrderError> for Problem {
    fn from(e: StoreOrderError) -> Self {
        match e {
            StoreOrderError::StoreNotFound(_) | StoreOrderError::NotFound(_) => {
                Problem::not_found(e.to_string())
            }
            StoreOrderError::Invalid(invalid) => {
                Problem::unprocessable(invalid.code(), invalid.to_string())
            }
            StoreOrderError::Transition(t) => {
                Problem::conflict("invalid_transition", t.to_string())
            }
            StoreOrderError::Database(e) => e.into(),
        }
    }
}
