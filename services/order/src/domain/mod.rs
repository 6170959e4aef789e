//! The order aggregate and its rules: statuses, what each event does to an order, and what a
//! customer may do. Pure: no I/O, no framework types.

mod menu;
mod order;

pub use menu::{
    MenuItem, OrderRequest, RequestedItem, ValidationError, check_items, delivery_address,
    price_order,
};
pub use order::{Change, ChangeRefusal, Contents, Order, OrderStatus, TransitionError};
