//! The store's language and rules: stores, menus, and the life of a store order. No I/O here.

pub mod catalog;
pub mod store_order;

pub use catalog::{InvalidInput, MenuItem, MenuItemPatch, Name, Price, Rating, Store};
pub use store_order::{
    Action, Cancellation, InvalidTransition, Reason, Status, StoreOrder, on_order_canceled,
    on_order_changed, on_order_placed,
};
