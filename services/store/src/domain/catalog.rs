//! Stores and menu items: who owns them, what makes a name or a price valid, and which catalog
//! event each change publishes.

use chrono::{DateTime, Utc};
use shared_events::{MenuItemChanged, MenuItemRegistered, MenuItemRemoved, StoreRegistered};
use uuid::Uuid;

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_PRICE: i64 = 10_000_000;
pub const MAX_REASON_CHARS: usize = 200;

/// Well-formed input that breaks a rule (a 422 at the HTTP edge).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidInput {
    #[error("the name must not be empty")]
    EmptyName,
    #[error("the name must be at most {MAX_NAME_CHARS} characters")]
    NameTooLong,
    #[error("the price must be a whole number of won from 1 to {MAX_PRICE}, got {0}")]
    Price(i64),
    #[error("the reason must be 1 to {MAX_REASON_CHARS} characters")]
    Reason,
}

impl InvalidInput {
    /// The stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            InvalidInput::EmptyName | InvalidInput::NameTooLong => "invalid_name",
            InvalidInput::Price(_) => "invalid_price",
            InvalidInput::Reason => "invalid_reason",
        }
    }
}

/// A store or menu item name: trimmed, not empty, at most [`MAX_NAME_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let trimmed = shared_events::text::trim(raw);
        if trimmed.is_empty() {
            Err(InvalidInput::EmptyName)
        } else if raw.chars().count() > MAX_NAME_CHARS {
            Err(InvalidInput::NameTooLong)
        } else {
            Ok(Self(trimmed.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A menu price: a whole number of won, from 1 to [`MAX_PRICE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price(i64);

impl Price {
    pub fn parse(won: i64) -> Result<Self, InvalidInput> {
        if (1..=MAX_PRICE).contains(&won) {
            Ok(Self(won))
        } else {
            Err(InvalidInput::Price(won))
        }
    }

    pub fn won(self) -> i64 {
        self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    pub id: Uuid,
    pub name: String,
    pub owner_id: String,
    pub created_at: DateTime<Utc>,
    /// As the review service last published it; none before the store's first review.
    pub rating: Option<Rating>,
}

/// A store's rating: how many reviews it has and their average, in hundredths of a star.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rating {
    pub review_count: u32,
    pub average_rating: u32,
}

impl Store {
    /// A new store of `owner_id`'s, with the event announcing it.
    pub fn open(name: Name, owner_id: &str, now: DateTime<Utc>) -> (Self, StoreRegistered) {
        let store = Self {
            id: Uuid::now_v7(),
            name: name.0,
            owner_id: owner_id.to_owned(),
            created_at: now,
            rating: None,
        };
        let event = store.registered();
        (store, event)
    }

    /// The event that announces this store and names its owner.
    pub fn registered(&self) -> StoreRegistered {
        StoreRegistered {
            store_id: self.id,
            owner_id: self.owner_id.clone(),
            name: self.name.clone(),
        }
    }

    pub fn is_owned_by(&self, user_id: &str) -> bool {
        self.owner_id == user_id
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuItem {
    pub id: Uuid,
    pub store_id: Uuid,
    pub name: String,
    pub price: i64,
    pub available: bool,
}

/// A partial change of a menu item; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MenuItemPatch {
    pub name: Option<Name>,
    pub price: Option<Price>,
    pub available: Option<bool>,
}

impl MenuItem {
    /// A new, available item on `store_id`'s menu, with the event announcing it.
    pub fn register(store_id: Uuid, name: Name, price: Price) -> (Self, MenuItemRegistered) {
        let item = Self {
            id: Uuid::now_v7(),
            store_id,
            name: name.0,
            price: price.won(),
            available: true,
        };
        let event = MenuItemRegistered {
            store_id,
            menu_item_id: item.id,
            name: item.name.clone(),
            price: item.price,
            available: item.available,
        };
        (item, event)
    }

    /// Applies `patch`; the event carrying the whole new state, or `None` if nothing changed.
    pub fn change(&mut self, patch: MenuItemPatch) -> Option<MenuItemChanged> {
        let before = self.clone();
        if let Some(name) = patch.name {
            self.name = name.0;
        }
        if let Some(price) = patch.price {
            self.price = price.won();
        }
        if let Some(available) = patch.available {
            self.available = available;
        }
        (*self != before).then(|| MenuItemChanged {
            store_id: self.store_id,
            menu_item_id: self.id,
            name: self.name.clone(),
            price: self.price,
            available: self.available,
        })
    }

    pub fn remove(self) -> MenuItemRemoved {
        MenuItemRemoved {
            store_id: self.store_id,
            menu_item_id: self.id,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            Name::parse("  Chicken House ").unwrap().as_str(),
            "Chicken House"
        );
        assert_eq!(Name::parse("   "), Err(InvalidInput::EmptyName));
        assert!(Name::parse(&"가".repeat(MAX_NAME_CHARS)).is_ok());
        assert_eq!(
            Name::parse(&"a".repeat(MAX_NAME_CHARS + 1)),
            Err(InvalidInput::NameTooLong)
        );
    }

    #[test]
    fn prices_are_positive_and_capped() {
        assert!(Price::parse(1).is_ok());
        assert!(Price::parse(MAX_PRICE).is_ok());
        assert_eq!(Price::parse(0), Err(InvalidInput::Price(0)));
        assert_eq!(
            Price::parse(MAX_PRICE + 1),
            Err(InvalidInput::Price(MAX_PRICE + 1))
        );
    }

    #[test]
    fn a_new_store_is_announced_with_its_owner() {
        let (store, registered) = Store::open(
            Name::parse(" Chicken House ").unwrap(),
            "olivia",
            Utc::now(),
        );
        assert_eq!(
            registered,
            StoreRegistered {
                store_id: store.id,
                owner_id: "olivia".into(),
                name: "Chicken House".into(),
            }
        );
        assert_eq!(store.registered(), registered);
    }

    #[test]
    fn a_change_that_changes_nothing_publishes_nothing() {
        let (mut item, _) = MenuItem::register(
            Uuid::new_v4(),
            Name::parse("Fries").unwrap(),
            Price::parse(3000).unwrap(),
        );
        let same = MenuItemPatch {
            price: Some(Price::parse(3000).unwrap()),
            ..MenuItemPatch::default()
        };
        assert_eq!(item.change(same), None);
        let cheaper = MenuItemPatch {
            price: Some(Price::parse(2500).unwrap()),
            available: Some(false),
            ..MenuItemPatch::default()
        };
        let event = item.change(cheaper).unwrap();
        assert_eq!(
            (event.price, event.available, event.name.as_str()),
            (2500, false, "Fries")
        );
    }

    proptest! {
        #[test]
        fn any_accepted_price_is_in_range(won in any::<i64>()) {
            prop_assert_eq!(Price::parse(won).is_ok(), (1..=MAX_PRICE).contains(&won));
        }

        #[test]
        fn any_accepted_name_is_trimmed_and_not_empty(raw in "\\PC{0,120}") {
            if let Ok(name) = Name::parse(&raw) {
                prop_assert_eq!(name.as_str(), shared_events::text::trim(&raw));
                prop_assert!(!name.as_str().is_empty());
                prop_assert!(name.as_str().chars().count() <= MAX_NAME_CHARS);
            }
        }
    }
}
