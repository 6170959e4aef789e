//! Operational endpoints, the same on every service: `/health/live` (the process runs),
//! `/health/ready` (its dependencies answer and it is not shutting down) and `/metrics`
//! (Prometheus text), plus the middleware that records HTTP metrics.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// How long one readiness check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// A dependency whose reachability decides readiness.
#[async_trait]
pub trait ReadinessCheck: Send + Sync {
    fn name(&self) -> &'static str;
    async fn check(&self) -> anyhow::Result<()>;
}

#[async_trait]
impl ReadinessCheck for sqlx::PgPool {
    fn name(&self) -> &'static str {
        "database"
    }

    async fn check(&self) -> anyhow::Result<()> {
        sqlx::query("select 1").execute(self).await?;
        Ok(())
    }
}

/// The checks behind `/health/ready`, and the shutdown token that turns it 503 while draining.
#[derive(Clone)]
pub struct Readiness {
    checks: Vec<Arc<dyn ReadinessCheck>>,
    shutdown: CancellationToken,
}

impl Readiness {
    pub fn new(shutdown: CancellationToken) -> Self {
        Self {
            checks: Vec::new(),
            shutdown,
        }
    }

    pub fn with(mut self, check: impl ReadinessCheck + 'static) -> Self {
        self.checks.push(Arc::new(check));
        self
    }

    /// Runs every check concurrently; `Ok` when all pass.
    pub async fn report(&self) -> (bool, serde_json::Value) {
        let results = futures::future::join_all(self.checks.iter().map(|c| async move {
            let outcome = match tokio::time::timeout(CHECK_TIMEOUT, c.check()).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(format!("{e:#}")),
                Err(_) => Err("timed out".to_owned()),
            };
            (c.name(), outcome)
        }))
        .await;
        let mut ready = !self.shutdown.is_cancelled();
        let mut checks = serde_json::Map::new();
        for (name, outcome) in results {
            let value = match outcome {
                Ok(()) => json!("ok"),
                Err(e) => {
                    ready = false;
                    tracing::debug!(check = name, error = %e, "readiness check failed");
                    json!(e)
                }
            };
            checks.insert(name.to_owned(), value);
        }
        let status = if self.shutdown.is_cancelled() {
            "draining"
        } else if ready {
            "ready"
        } else {
            "unavailable"
        };
        (ready, json!({ "status": status, "checks": checks }))
    }
}

/// The router with `/health/live`, `/health/ready` and `/metrics`.
pub fn router(readiness: Readiness) -> Router {
    prometheus(); // install the recorder before the first metric is recorded
    Router::new()
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .route("/metrics", get(render_metrics))
        .with_state(readiness)
}

/// The operational endpoints every process serves, for the API document of a process whose
/// health endpoints are public (the gateway's).
#[derive(utoipa::OpenApi)]
#[openapi(paths(live, ready))]
struct HealthDoc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    <HealthDoc as utoipa::OpenApi>::openapi()
}

/// Liveness: the process runs.
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "health",
    security(()),
    responses((status = 200, description = "the process runs", body = Object, example = json!({"status": "live"})))
)]
async fn live() -> Json<serde_json::Value> {
    Json(json!({ "status": "live" }))
}

/// Readiness: its dependencies answer and it is not shutting down.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "ready; each check's outcome", body = Object, example = json!({"status": "ready", "checks": {}})),
        (status = 503, description = "a dependency is unavailable, or the process is shutting down", body = Object),
    )
)]
async fn ready(State(readiness): State<Readiness>) -> Response {
    let (ok, body) = readiness.report().await;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// The process-wide Prometheus recorder, installed on first use.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("duration_seconds".into()),
                &[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ],
            )
            .and_then(|builder| {
                // From an event's time to its effect: milliseconds normally, minutes when a
                // consumer is far behind.
                builder.set_buckets_for_metric(
                    Matcher::Full("event_apply_delay_seconds".into()),
                    &[
                        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                        300.0,
                    ],
                )
            })
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        // Fails only if another recorder was installed first; then ours just stays empty.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed");
        }
        handle
    })
}

/// The metrics, with `service_ready` (1 ready, 0 not) read now: a scrape is the one moment
/// Prometheus looks, and what the orchestrator's probe saw is not in the metrics otherwise.
async fn render_metrics(State(readiness): State<Readiness>) -> impl IntoResponse {
    let (ready, _) = readiness.report().await;
    metrics::gauge!("service_ready").set(if ready { 1.0 } else { 0.0 });
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        prometheus().render(),
    )
}

/// Middleware: `http_requests_total` and `http_request_duration_seconds` by route and status.
pub async fn track_http(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let span = tracing::Span::current();
    let response = next.run(request).await;
    span.record("http.status", response.status().as_u16());
    if response.status().is_server_error() {
        span.record("otel.status_code", "error");
    }
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}
