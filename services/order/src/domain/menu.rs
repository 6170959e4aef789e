//! Turning a customer's request into priced order lines, from the menu replica. Prices come
//! from the replica, never from the request.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};
use shared_events::OrderLine;
use uuid::Uuid;

pub const MAX_QUANTITY: u32 = 99;
pub const MAX_LINES: usize = 50;
pub const MAX_ADDRESS_CHARS: usize = 200;

/// A menu item as the replica knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuItem {
    pub menu_item_id: Uuid,
    pub store_id: Uuid,
    pub name: String,
    pub price: i64,
    pub available: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedItem {
    pub menu_item_id: Uuid,
    pub quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    pub store_id: Uuid,
    pub items: Vec<RequestedItem>,
    pub delivery_address: String,
}

/// Why a request cannot become an order. Each has a stable code for the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("an order needs at least one item")]
    NoItems,
    #[error("an order has at most {MAX_LINES} lines")]
    TooManyLines,
    #[error("quantity of {0} must be between 1 and {MAX_QUANTITY}")]
    Quantity(Uuid),
    #[error("menu item {0} appears twice; order it once with a larger quantity")]
    DuplicateItem(Uuid),
    #[error("a delivery address is required (at most {MAX_ADDRESS_CHARS} characters)")]
    Address,
    #[error("store {0} is unknown")]
    UnknownStore(Uuid),
    #[error("menu item {item} is not on the menu of store {store}")]
    UnknownItem { item: Uuid, store: Uuid },
    #[error("menu item {0} is not available right now")]
    Unavailable(Uuid),
}

impl ValidationError {
    pub fn code(&self) -> &'static str {
        match self {
            ValidationError::NoItems => "no_items",
            ValidationError::TooManyLines => "too_many_items",
            ValidationError::Quantity(_) => "invalid_quantity",
            ValidationError::DuplicateItem(_) => "duplicate_item",
            ValidationError::Address => "invalid_address",
            ValidationError::UnknownStore(_) => "store_unknown",
            ValidationError::UnknownItem { .. } => "menu_item_unknown",
            ValidationError::Unavailable(_) => "menu_item_unavailable",
        }
    }
}

impl OrderRequest {
    /// The checks that need no menu: 1 to 50 lines, each item once with a quantity of 1 to 99,
    /// and an address. A request that fails them is refused before anything is looked up, so
    /// a malformed request reads the same whatever state the order or its key is in.
    pub fn check(&self) -> Result<(), ValidationError> {
        check_items(&self.items)?;
        delivery_address(&self.delivery_address).map(drop)
    }

    /// A SHA-256 digest of what the request asks for: the store, the lines (in any order) and
    /// the trimmed address. Two requests with one digest ask for the same order, which is what
    /// a repeated idempotency key must be sent with.
    pub fn digest(&self) -> [u8; 32] {
        let mut items: Vec<_> = self
            .items
            .iter()
            .map(|i| (i.menu_item_id, i.quantity))
            .collect();
        items.sort_unstable();
        let mut hash = Sha256::new();
        hash.update(self.store_id.as_bytes());
        hash.update((items.len() as u64).to_be_bytes());
        for (menu_item_id, quantity) in items {
            hash.update(menu_item_id.as_bytes());
            hash.update(quantity.to_be_bytes());
        }
        hash.update(shared_events::text::trim(&self.delivery_address).as_bytes());
        hash.finalize().into()
    }
}

/// The lines of a request, checked without the menu: 1 to 50 of them, each item once, each
/// quantity 1 to 99.
pub fn check_items(items: &[RequestedItem]) -> Result<(), ValidationError> {
    if items.is_empty() {
        return Err(ValidationError::NoItems);
    }
    if items.len() > MAX_LINES {
        return Err(ValidationError::TooManyLines);
    }
    let mut seen = HashSet::new();
    for item in items {
        if !(1..=i64::from(MAX_QUANTITY)).contains(&item.quantity) {
            return Err(ValidationError::Quantity(item.menu_item_id));
        }
        if !seen.insert(item.menu_item_id) {
            return Err(ValidationError::DuplicateItem(item.menu_item_id));
        }
    }
    Ok(())
}

/// Validates `request` against `menu` (the store's items in the replica) and prices it.
/// Returns the lines, the total, and the trimmed address.
pub fn price_order(
    request: &OrderRequest,
    menu: &[MenuItem],
) -> Result<(Vec<OrderLine>, i64, String), ValidationError> {
    check_items(&request.items)?;
    let address = delivery_address(&request.delivery_address)?;
    let menu: HashMap<Uuid, &MenuItem> = menu
        .iter()
        .filter(|m| m.store_id == request.store_id)
        .map(|m| (m.menu_item_id, m))
        .collect();
    if menu.is_empty() {
        return Err(ValidationError::UnknownStore(request.store_id));
    }
    let mut lines = Vec::with_capacity(request.items.len());
    let mut total: i64 = 0;
    for item in &request.items {
        let entry = menu
            .get(&item.menu_item_id)
            .ok_or(ValidationError::UnknownItem {
                item: item.menu_item_id,
                store: request.store_id,
            })?;
        if !entry.available {
            return Err(ValidationError::Unavailable(item.menu_item_id));
        }
        // Quantities are at most 99 and prices bounded by the store: no overflow in practice,
        // but saturate rather than wrap if a replica ever held an absurd price.
        total = total.saturating_add(entry.price.saturating_mul(item.quantity));
        lines.push(OrderLine {
            menu_item_id: entry.menu_item_id,
            name: entry.name.clone(),
            quantity: u32::try_from(item.quantity).unwrap_or(MAX_QUANTITY),
            unit_price: entry.price,
        });
    }
    Ok((lines, total, address))
}

/// A delivery address, trimmed: 1 to 200 characters as sent, not only white space.
pub fn delivery_address(raw: &str) -> Result<String, ValidationError> {
    shared_events::text::bounded(raw, MAX_ADDRESS_CHARS)
        .map(str::to_owned)
        .ok_or(ValidationError::Address)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn menu(store_id: Uuid) -> Vec<MenuItem> {
        vec![
            MenuItem {
                menu_item_id: Uuid::from_u128(1),
                store_id,
                name: "Fried chicken".into(),
                price: 18_000,
                available: true,
            },
            MenuItem {
                menu_item_id: Uuid::from_u128(2),
                store_id,
                name: "Cola".into(),
                price: 2_000,
                available: true,
            },
            MenuItem {
                menu_item_id: Uuid::from_u128(3),
                store_id,
                name: "Seasonal".into(),
                price: 9_000,
                available: false,
            },
        ]
    }

    fn request(store_id: Uuid, items: &[(u128, i64)]) -> OrderRequest {
        OrderRequest {
            store_id,
            items: items
                .iter()
                .map(|&(id, quantity)| RequestedItem {
                    menu_item_id: Uuid::from_u128(id),
                    quantity,
                })
                .collect(),
            delivery_address: "  Seoul, Gangnam-gu  ".into(),
        }
    }

    #[test]
    fn prices_come_from_the_menu_and_add_up() {
        let store = Uuid::new_v4();
        let (lines, total, address) =
            price_order(&request(store, &[(1, 2), (2, 3)]), &menu(store)).unwrap();
        assert_eq!(total, 2 * 18_000 + 3 * 2_000);
        assert_eq!(lines[0].name, "Fried chicken");
        assert_eq!(lines[1].unit_price, 2_000);
        assert_eq!(address, "Seoul, Gangnam-gu");
    }

    #[test]
    fn each_invalid_request_has_its_own_code() {
        let store = Uuid::new_v4();
        let m = menu(store);
        let code = |r: OrderRequest, menu: &[MenuItem]| price_order(&r, menu).unwrap_err().code();
        assert_eq!(code(request(store, &[]), &m), "no_items");
        assert_eq!(code(request(store, &[(1, 0)]), &m), "invalid_quantity");
        assert_eq!(code(request(store, &[(1, 100)]), &m), "invalid_quantity");
        assert_eq!(code(request(store, &[(1, -1)]), &m), "invalid_quantity");
        assert_eq!(
            code(request(store, &[(1, 1), (1, 2)]), &m),
            "duplicate_item"
        );
        assert_eq!(code(request(store, &[(9, 1)]), &m), "menu_item_unknown");
        assert_eq!(code(request(store, &[(3, 1)]), &m), "menu_item_unavailable");
        assert_eq!(
            code(request(Uuid::new_v4(), &[(1, 1)]), &m),
            "store_unknown"
        );
        let mut blank = request(store, &[(1, 1)]);
        blank.delivery_address = "   ".into();
        assert_eq!(code(blank, &m), "invalid_address");
    }

    #[test]
    fn the_limits_themselves_are_allowed() {
        let store = Uuid::new_v4();
        assert!(price_order(&request(store, &[(1, 1)]), &menu(store)).is_ok());
        assert!(price_order(&request(store, &[(1, 99)]), &menu(store)).is_ok());
    }

    #[test]
    fn what_needs_no_menu_is_checked_without_one() {
        let store = Uuid::new_v4();
        let code = |r: OrderRequest| r.check().unwrap_err().code();
        assert_eq!(code(request(store, &[])), "no_items");
        assert_eq!(code(request(store, &[(1, 0)])), "invalid_quantity");
        assert_eq!(code(request(store, &[(1, 1), (1, 1)])), "duplicate_item");
        let many: Vec<_> = (1..=51).map(|id| (id, 1)).collect();
        assert_eq!(code(request(store, &many)), "too_many_items");
        let mut blank = request(store, &[(1, 1)]);
        blank.delivery_address = "".into();
        assert_eq!(code(blank), "invalid_address");
        // Unknown stores and items are the menu's to say.
        assert_eq!(request(store, &[(9, 1)]).check(), Ok(()));
    }

    #[test]
    fn a_digest_changes_with_what_is_asked_for_and_nothing_else() {
        let store = Uuid::new_v4();
        let first = request(store, &[(1, 2), (2, 1)]);
        let mut reordered = request(store, &[(2, 1), (1, 2)]);
        reordered.delivery_address = "Seoul, Gangnam-gu".into();
        assert_eq!(first.digest(), reordered.digest());

        let mut other_address = first.clone();
        other_address.delivery_address = "Seoul, Mapo-gu".into();
        for different in [
            request(store, &[(1, 3), (2, 1)]),
            request(store, &[(1, 2)]),
            request(store, &[]),
            request(Uuid::new_v4(), &[(1, 2), (2, 1)]),
            other_address,
        ] {
            assert_ne!(first.digest(), different.digest(), "{different:?}");
        }
    }
}
