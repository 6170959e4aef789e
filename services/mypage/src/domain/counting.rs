//! Popular-menu counting, the pure part: how much one event changes the order counts of the
//! menu items it concerns.
//!
//! An order counts for each of its (distinct) menu items while it is placed and not canceled.
//! Its contribution before and after an event is folded gives the change that event causes, so
//! the changes of all the events of an order, each taken once, add up to its contribution in the
//! final view, whatever order the events came in.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::OrderView;

/// What an order adds to each of its menu items' counts: 1 while placed and not canceled.
pub fn contribution(view: Option<&OrderView>) -> i64 {
    view.is_some_and(|v| v.placed() && !v.canceled()).into()
}

/// The change one event makes to the counts of the order's menu items: `after`'s contribution
/// minus `before`'s. Zero for every event but a first `OrderPlaced` or `OrderCanceled`.
pub fn count_change(before: Option<&OrderView>, after: &OrderView) -> i64 {
    contribution(Some(after)) - contribution(before)
}

/// The order's distinct menu items with their names, in a stable order: as it was placed
/// (version 1), so that whatever version is known when its count moves, the same items move.
/// A change does not move the counts: they count what customers chose to order first.
pub fn menu_items(view: &OrderView) -> BTreeMap<Uuid, &str> {
    let placed = view.previous_versions.first().filter(|v| v.version == 1);
    placed
        .map_or(&view.items, |v| &v.items)
        .iter()
        .map(|line| (line.menu_item_id, line.name.as_str()))
        .collect()
}
