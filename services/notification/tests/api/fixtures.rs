//! Events of one order as the other services would publish them.

pub use test_stack::journey::*;
