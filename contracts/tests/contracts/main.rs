//! The contracts held against the code: the committed AsyncAPI document, the producers' real
//! events against it and against what their consumers rely on, and the order service's payment
//! client against the real payment service; the files generated from the topics' declaration.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod document;
mod events;
mod payment;
mod producers;
mod topology;
