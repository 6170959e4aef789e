//! End-to-end tests of the whole system live in `tests/system`: every service and the gateway run
//! in the test process against the real Kafka, PostgreSQL and FerretDB, and the tests speak only
//! the public API through the gateway, the way customers, owners and riders do.
