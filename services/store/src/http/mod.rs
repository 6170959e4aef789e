//! The store's HTTP API: catalog management for owners, reading for everyone signed in, and the
//! owner's work on store orders.

mod catalog;
mod store_orders;

use axum::Router;
use axum::routing::{get, patch, post};
use service_runtime::problem::internal_error as internal;
use service_runtime::{Identity, Problem, Role};
use sqlx::PgPool;
use uuid::Uuid;

use crate::db;
use crate::domain::{InvalidInput, InvalidTransition, Store};

/// The store service's part of the API document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        catalog::create_store,
        catalog::list_stores,
        catalog::get_store,
        catalog::add_menu_item,
        catalog::list_menu,
        catalog::change_menu_item,
        catalog::remove_menu_item,
        store_orders::list,
        store_orders::accept,
        store_orders::reject,
        store_orders::start_cooking,
        store_orders::finish_cooking,
    ),
    components(schemas(
        catalog::NewStore,
        catalog::StoreBody,
        catalog::NewMenuItem,
        catalog::MenuItemChange,
        catalog::MenuItemBody,
        store_orders::StoreOrderBody,
        store_orders::Rejection,
    )),
    tags((name = "store", description = "Stores, menus, and the owners' work on orders"))
)]
struct ApiDoc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    <ApiDoc as utoipa::OpenApi>::openapi()
}

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/stores",
            post(catalog::create_store).get(catalog::list_stores),
        )
        .route("/stores/{store_id}", get(catalog::get_store))
        .route(
            "/stores/{store_id}/menu",
            post(catalog::add_menu_item).get(catalog::list_menu),
        )
        .route(
            "/stores/{store_id}/menu/{menu_item_id}",
            patch(catalog::change_menu_item).delete(catalog::remove_menu_item),
        )
        .route("/store-orders", get(store_orders::list))
        .route(
            "/store-orders/{order_id}/accept",
            post(store_orders::accept),
        )
        .route(
            "/store-orders/{order_id}/reject",
            post(store_orders::reject),
        )
        .route(
            "/store-orders/{order_id}/start-cooking",
            post(store_orders::start_cooking),
        )
        .route(
            "/store-orders/{order_id}/finish-cooking",
            post(store_orders::finish_cooking),
        )
        .with_state(state)
}

/// Logs the cause once and answers a 500 that reveals nothing.
/// A database error: a known constraint becomes its answer, anything else a 500.
fn database(e: sqlx::Error) -> Problem {
    match db::violated_constraint(&e) {
        Some("store_owner_name") => Problem::conflict(
            "store_name_taken",
            "you already have a store with this name",
        ),
        Some("menu_item_store_name") => Problem::conflict(
            "menu_item_name_taken",
            "the menu already has an item with this name",
        ),
        _ => internal(e),
    }
}

fn invalid(e: InvalidInput) -> Problem {
    Problem::unprocessable(e.code(), e.to_string())
}

fn conflict(e: InvalidTransition) -> Problem {
    Problem::conflict("invalid_transition", e.to_string())
}

fn store_not_found(store_id: Uuid) -> Problem {
    Problem::not_found(format!("no store {store_id}"))
}

/// The store `identity` owns: 403 for a role that owns no stores, 404 when the store does not
/// exist or belongs to someone else (not revealing which).
async fn owned_store(
    executor: impl sqlx::PgExecutor<'_>,
    identity: &Identity,
    store_id: Uuid,
) -> Result<Store, Problem> {
    identity.require(&[Role::Owner])?;
    db::catalog::store(executor, store_id)
        .await
        .map_err(internal)?
        .filter(|store| store.is_owned_by(&identity.user_id))
        .ok_or_else(|| store_not_found(store_id))
}
