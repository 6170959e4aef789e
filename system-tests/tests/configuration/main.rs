//! The configuration's single sources, held to by the files that repeat them: every port in
//! `ports.tsv` (compose, Kubernetes, the image, the README), every environment variable in a
//! table beside the code that reads it, with the code's default (and the README's tables agree).
//! These tests read the repository's files only: they need no server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ports;
mod repo;
mod settings;
