//! The store's queries, one small function each, on a connection or transaction the caller
//! holds.

pub mod catalog;
pub mod store_orders;

/// The name of the constraint `error` violated, if it is such an error. Callers map constraint
/// names (never error texts) to answers.
pub fn violated_constraint(error: &sqlx::Error) -> Option<&str> {
    error.as_database_error()?.constraint()
}

pub use service_runtime::clock::now;
