//! What mypage answers, independent of how it is asked: a customer's order views, one order's
//! view, the most ordered menu items. Each reads the live generation of the read model (looked
//! up at most a second ago, so a rebuild swaps in seamlessly) and returns a [`ViewError`].

use uuid::Uuid;

use crate::db::ratings::StoreRating;
use crate::db::store::{Store, Views};
use crate::domain::OrderView;

/// The most menu items one request may ask for.
pub const POPULAR_MAX: i64 = 100;
/// What a request that names no limit gets.
pub const POPULAR_DEFAULT: i64 = 10;

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// No such order, or another customer's: the same answer, so an order's existence is not
    /// told to someone else.
    #[error("no order {0}")]
    NotFound(Uuid),
    #[error("limit must be between 1 and 100")]
    InvalidLimit,
    #[error(transparent)]
    Database(#[from] mongodb::error::Error),
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// Who asks: a customer sees their own orders only, an admin anyone's.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    pub user_id: &'a str,
    pub admin: bool,
}

/// A menu item and how many orders included it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Popularity {
    pub menu_item_id: String,
    pub store_id: String,
    pub name: String,
    pub order_count: i64,
    /// The store's rating, as the review service last published it; `None` before its first
    /// review.
    pub store_rating: Option<StoreRating>,
}

/// The customer's order views.
pub async fn views_of(store: &Store, customer_id: &str) -> Result<Vec<OrderView>, ViewError> {
    let views = live(store).await?;
    Ok(views.views_of(customer_id).await?)
}

/// The view of `order_id`, if `reader` may see it.
pub async fn view(
    store: &Store,
    reader: Reader<'_>,
    order_id: Uuid,
) -> Result<OrderView, ViewError> {
    let views = live(store).await?;
    views
        .view(order_id)
        .await?
        .filter(|v| reader.admin || v.customer_id.as_deref() == Some(reader.user_id))
        .ok_or(ViewError::NotFound(order_id))
}

/// The `limit` (1 to [`POPULAR_MAX`], [`POPULAR_DEFAULT`] if `None`) most ordered menu items,
/// most ordered first.
pub async fn popular(store: &Store, limit: Option<i64>) -> Result<Vec<Popularity>, ViewError> {
    let limit = limit.unwrap_or(POPULAR_DEFAULT);
    if !(1..=POPULAR_MAX).contains(&limit) {
        return Err(ViewError::InvalidLimit);
    }
    let views = live(store).await?;
    let menus = views.popular(limit).await?;
    let mut stores: Vec<String> = menus.iter().map(|(_, store, ..)| store.clone()).collect();
    stores.sort_unstable();
    stores.dedup();
    let ratings = store.ratings_of(&stores).await?;
    Ok(menus
        .into_iter()
        .map(|(menu_item_id, store_id, name, order_count)| Popularity {
            store_rating: ratings.get(&store_id).copied(),
            menu_item_id,
            store_id,
            name,
            order_count,
        })
        .collect())
}

async fn live(store: &Store) -> Result<Views, ViewError> {
    Ok(store.live().await?)
}
