//! mypage's database (MongoDB, or FerretDB locally): the connection and its generations
//! (`store`), the order views (`views`), the popular-menu counts (`menus`), the views
//! remembered between an order's events (`recent`) and the stores' ratings (`ratings`).

pub mod menus;
pub mod ratings;
pub mod recent;
pub mod store;
pub mod views;

pub use store::Store;
