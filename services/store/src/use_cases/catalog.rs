//! Stores and menus. Every store and menu change commits with its catalog event: the order
//! service's menu replica is built from the menu's, and notification learns who owns a store
//! from `StoreRegistered`.

use backbone::outbox;
use shared_events::Envelope;
use sqlx::PgPool;
use uuid::Uuid;

use super::owned_store;
use crate::db::{self, catalog as queries};
use crate::domain::{InvalidInput, MenuItem, MenuItemPatch, Name, Price, Store};
use crate::events::SOURCE;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// No such store, or (for an owner's command) not the caller's.
    #[error("no store {0}")]
    StoreNotFound(Uuid),
    #[error("no menu item {0}")]
    MenuItemNotFound(Uuid),
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error("you already have a store with this name")]
    StoreNameTaken,
    #[error("the menu already has an item with this name")]
    MenuItemNameTaken,
    #[error("database: {0}")]
    Database(#[source] sqlx::Error),
}

/// A database error: a name constraint becomes its rule's error, anything else stays what it is.
impl From<sqlx::Error> for CatalogError {
    fn from(e: sqlx::Error) -> Self {
        match db::violated_constraint(&e) {
            Some("store_owner_name") => CatalogError::StoreNameTaken,
            Some("menu_item_store_name") => CatalogError::MenuItemNameTaken,
            _ => CatalogError::Database(e),
        }
    }
}

/// A change of a menu item as asked for, checked once the caller is known to own the store.
#[derive(Debug, Clone, Default)]
pub struct MenuItemEdit {
    pub name: Option<String>,
    pub price: Option<i64>,
    pub available: Option<bool>,
}

impl MenuItemEdit {
    fn parse(self) -> Result<MenuItemPatch, InvalidInput> {
        Ok(MenuItemPatch {
            name: self.name.as_deref().map(Name::parse).transpose()?,
            price: self.price.map(Price::parse).transpose()?,
            available: self.available,
        })
    }
}

/// Opens a store owned by `owner_id`, with its `StoreRegistered`; one name per owner.
pub async fn open_store(pool: &PgPool, owner_id: &str, name: &str) -> Result<Store, CatalogError> {
    let (store, registered) = Store::open(Name::parse(name)?, owner_id, db::now());
    let mut tx = pool.begin().await?;
    queries::insert_store(&mut tx, &store).await?;
    outbox::enqueue(&mut tx, &Envelope::new(SOURCE, registered)).await?;
    outbox::commit(tx).await?;
    tracing::info!(store.id = %store.id, "store opened");
    Ok(store)
}

pub async fn stores(pool: &PgPool) -> Result<Vec<Store>, CatalogError> {
    Ok(queries::stores(pool).await?)
}

pub async fn store(pool: &PgPool, store_id: Uuid) -> Result<Store, CatalogError> {
    queries::store(pool, store_id)
        .await?
        .ok_or(CatalogError::StoreNotFound(store_id))
}

/// The menu of a store that exists.
pub async fn menu(pool: &PgPool, store_id: Uuid) -> Result<Vec<MenuItem>, CatalogError> {
    store(pool, store_id).await?;
    Ok(queries::menu(pool, store_id).await?)
}

/// Adds an item to the menu of `owner_id`'s store, with its `MenuItemRegistered`.
pub async fn add_menu_item(
    pool: &PgPool,
    owner_id: &str,
    store_id: Uuid,
    name: &str,
    price: i64,
) -> Result<MenuItem, CatalogError> {
    let store = owned_store(pool, owner_id, store_id)
        .await?
        .ok_or(CatalogError::StoreNotFound(store_id))?;
    let (item, registered) = MenuItem::register(store.id, Name::parse(name)?, Price::parse(price)?);
    let mut tx = pool.begin().await?;
    queries::insert_menu_item(&mut tx, &item).await?;
    outbox::enqueue(&mut tx, &Envelope::new(SOURCE, registered)).await?;
    outbox::commit(tx).await?;
    tracing::info!(store.id = %store.id, menu_item.id = %item.id, "menu item registered");
    Ok(item)
}

/// Changes an item of `owner_id`'s store; `MenuItemChanged` only if something actually changed.
pub async fn change_menu_item(
    pool: &PgPool,
    owner_id: &str,
    store_id: Uuid,
    menu_item_id: Uuid,
    edit: MenuItemEdit,
) -> Result<MenuItem, CatalogError> {
    let store = owned_store(pool, owner_id, store_id)
        .await?
        .ok_or(CatalogError::StoreNotFound(store_id))?;
    let patch = edit.parse()?;
    let mut tx = pool.begin().await?;
    let mut item = queries::menu_item_for_update(&mut tx, store.id, menu_item_id)
        .await?
        .ok_or(CatalogError::MenuItemNotFound(menu_item_id))?;
    if let Some(changed) = item.change(patch) {
        queries::update_menu_item(&mut tx, &item).await?;
        outbox::enqueue(&mut tx, &Envelope::new(SOURCE, changed)).await?;
        outbox::commit(tx).await?;
        tracing::info!(store.id = %store.id, menu_item.id = %item.id, "menu item changed");
    }
    Ok(item)
}

/// Removes an item from the menu of `owner_id`'s store, with its `MenuItemRemoved`.
pub async fn remove_menu_item(
    pool: &PgPool,
    owner_id: &str,
    store_id: Uuid,
    menu_item_id: Uuid,
) -> Result<(), CatalogError> {
    let store = owned_store(pool, owner_id, store_id)
        .await?
        .ok_or(CatalogError::StoreNotFound(store_id))?;
    let mut tx = pool.begin().await?;
    let item = queries::menu_item_for_update(&mut tx, store.id, menu_item_id)
        .await?
        .ok_or(CatalogError::MenuItemNotFound(menu_item_id))?;
    queries::delete_menu_item(&mut tx, item.id).await?;
    outbox::enqueue(&mut tx, &Envelope::new(SOURCE, item.remove())).await?;
    outbox::commit(tx).await?;
    tracing::info!(store.id = %store.id, menu_item.id = %menu_item_id, "menu item removed");
    Ok(())
}
