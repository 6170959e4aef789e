//! mypage's database (MongoDB, or FerretDB locally): the connection and its generations
//! (`store`), the order views (`views`), the popular-menu counts (`menus`) and the views
//! remembered between an order's events (`recent`).

pub mod menus;
pub mod recent;
pub mod store;
pub mod views;

pub use store::Store;
