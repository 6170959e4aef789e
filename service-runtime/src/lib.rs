//! What every service process needs around its domain, written once: typed settings helpers,
//! structured logging, the operational endpoints (`/health/live`, `/health/ready`, `/metrics`),
//! the RFC 9457 problem+json error shape, the identity headers set by the gateway, admission
//! control and deadlines (overload is refused early and cleanly), and graceful shutdown.

pub mod admission;
pub mod clock;
pub mod db;
pub mod deadline;
pub mod grpc;
pub mod http;
pub mod identity;
pub mod json;
pub mod limit;
pub mod ops;
pub mod problem;
pub mod retry;
pub mod server;
pub mod settings;
pub mod telemetry;
pub mod trace;

pub use identity::{Identity, Role};
pub use ops::{Readiness, ReadinessCheck};
pub use problem::Problem;
pub use server::{Application, serve, shutdown_signal};

/// Every service allocates through mimalloc rather than the C library's malloc: under load the
/// profile (`./dev profile`, docs/performance.md) found a fifth of the services' own CPU time in
/// glibc's allocator, much of it consolidating and unlinking free chunks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
