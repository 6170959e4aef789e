//! What owners and readers do with stores, menus and store orders, independent of HTTP: each
//! command opens its transaction, applies the domain's rule and commits the change with the
//! event it publishes.

pub mod catalog;
pub mod store_orders;

pub use catalog::CatalogError;
pub use store_orders::StoreOrderError;

use sqlx::PgExecutor;
use uuid::Uuid;

use crate::db;
use crate::domain::Store;

/// The store if `owner_id` owns it; `None` when it does not exist or belongs to someone else,
/// so that a caller cannot tell which.
async fn owned_store(
    executor: impl PgExecutor<'_>,
    owner_id: &str,
    store_id: Uuid,
) -> sqlx::Result<Option<Store>> {
    Ok(db::catalog::store(executor, store_id)
        .await?
        .filter(|store| store.is_owned_by(owner_id)))
}
