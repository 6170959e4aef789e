//! Stores and menu items.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::{MenuItem, Rating, Store};

#[derive(sqlx::FromRow)]
struct StoreRow {
    id: Uuid,
    name: String,
    owner_id: String,
    created_at: DateTime<Utc>,
    review_count: Option<i32>,
    average_rating: Option<i32>,
}

impl From<StoreRow> for Store {
    fn from(row: StoreRow) -> Self {
        // The table's checks keep both within u32.
        let rating = match (row.review_count, row.average_rating) {
            (Some(count), Some(average)) => Some(Rating {
                review_count: u32::try_from(count).unwrap_or_default(),
                average_rating: u32::try_from(average).unwrap_or_default(),
            }),
            _ => None,
        };
        Store {
            id: row.id,
            name: row.name,
            owner_id: row.owner_id,
            created_at: row.created_at,
            rating,
        }
    }
}

const STORE_COLUMNS: &str = "s.id, s.name, s.owner_id, s.created_at, r.review_count, \
                             r.average_rating \
                             from store s left join store_rating r on r.store_id = s.id";

#[derive(sqlx::FromRow)]
struct MenuItemRow {
    id: Uuid,
    store_id: Uuid,
    name: String,
    price: i64,
    available: bool,
}

impl From<MenuItemRow> for MenuItem {
    fn from(row: MenuItemRow) -> Self {
        MenuItem {
            id: row.id,
            store_id: row.store_id,
            name: row.name,
            price: row.price,
            available: row.available,
        }
    }
}

/// Inserts a store; its caller enqueues its `StoreRegistered` in the same transaction. Fails on
/// `store_owner_name` when the owner already has a store of that name.
#[tracing::instrument(skip_all, fields(store.id = %store.id))]
pub async fn insert_store(conn: &mut PgConnection, store: &Store) -> sqlx::Result<()> {
    sqlx::query("insert into store (id, name, owner_id, created_at) values ($1, $2, $3, $4)")
        .bind(store.id)
        .bind(&store.name)
        .bind(&store.owner_id)
        .bind(store.created_at)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn stores(executor: impl PgExecutor<'_>) -> sqlx::Result<Vec<Store>> {
    let sql = format!("select {STORE_COLUMNS} order by s.created_at, s.id");
    let rows = sqlx::query_as::<_, StoreRow>(&sql)
        .fetch_all(executor)
        .await?;
    Ok(rows.into_iter().map(Store::from).collect())
}

pub async fn store(executor: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<Store>> {
    let sql = format!("select {STORE_COLUMNS} where s.id = $1");
    let row = sqlx::query_as::<_, StoreRow>(&sql)
        .bind(id)
        .fetch_optional(executor)
        .await?;
    Ok(row.map(Store::from))
}

const MENU_COLUMNS: &str = "id, store_id, name, price, available";

/// Fails on `menu_item_store_name` when the menu already has an item of that name.
#[tracing::instrument(skip_all, fields(store.id = %item.store_id, menu_item.id = %item.id))]
pub async fn insert_menu_item(conn: &mut PgConnection, item: &MenuItem) -> sqlx::Result<()> {
    sqlx::query(
        "insert into menu_item (id, store_id, name, price, available) values ($1, $2, $3, $4, $5)",
    )
    .bind(item.id)
    .bind(item.store_id)
    .bind(&item.name)
    .bind(item.price)
    .bind(item.available)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn menu(executor: impl PgExecutor<'_>, store_id: Uuid) -> sqlx::Result<Vec<MenuItem>> {
    let sql =
        format!("select {MENU_COLUMNS} from menu_item where store_id = $1 order by created_at, id");
    let rows = sqlx::query_as::<_, MenuItemRow>(&sql)
        .bind(store_id)
        .fetch_all(executor)
        .await?;
    Ok(rows.into_iter().map(MenuItem::from).collect())
}

/// The item of `store_id`'s menu, locked for update.
pub async fn menu_item_for_update(
    conn: &mut PgConnection,
    store_id: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<MenuItem>> {
    let sql =
        format!("select {MENU_COLUMNS} from menu_item where store_id = $1 and id = $2 for update");
    let row = sqlx::query_as::<_, MenuItemRow>(&sql)
        .bind(store_id)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(MenuItem::from))
}

/// Fails on `menu_item_store_name` when another item has the new name.
#[tracing::instrument(skip_all, fields(menu_item.id = %item.id))]
pub async fn update_menu_item(conn: &mut PgConnection, item: &MenuItem) -> sqlx::Result<()> {
    sqlx::query(
        "update menu_item set name = $2, price = $3, available = $4, updated_at = now()
         where id = $1",
    )
    .bind(item.id)
    .bind(&item.name)
    .bind(item.price)
    .bind(item.available)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_menu_item(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("delete from menu_item where id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records a store's rating as of `rated_at`, unless a later one is recorded (a replayed event
/// never moves it back).
#[tracing::instrument(skip_all, fields(store.id = %store_id))]
pub async fn record_rating(
    conn: &mut PgConnection,
    store_id: Uuid,
    rating: Rating,
    rated_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    let (count, average) = (
        i32::try_from(rating.review_count).unwrap_or(i32::MAX),
        i32::try_from(rating.average_rating).unwrap_or(i32::MAX),
    );
    sqlx::query(
        "insert into store_rating (store_id, review_count, average_rating, rated_at)
         values ($1, $2, $3, $4)
         on conflict (store_id) do update
             set review_count = excluded.review_count,
                 average_rating = excluded.average_rating,
                 rated_at = excluded.rated_at,
                 updated_at = now()
             where store_rating.rated_at <= excluded.rated_at",
    )
    .bind(store_id)
    .bind(count)
    .bind(average)
    .bind(rated_at)
    .execute(conn)
    .await?;
    Ok(())
}
