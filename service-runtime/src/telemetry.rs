//! Structured logs and traces with `tracing`.
//!
//! Logs: JSON when the output is not a terminal (or `LOG_FORMAT=json`), human-readable
//! otherwise; `RUST_LOG` filters them, `info` by default.
//!
//! Traces: every span of this system's code (an HTTP request, the payment call, a consumed
//! message, an outbox publish, a database transaction) is also an OpenTelemetry span, and
//! carries the trace context on ([`crate::trace`]); `RUST_LOG` filters spans as it filters logs,
//! so keep this system's crates at `info` or finer (the default) for whole traces. They are
//! exported over OTLP/gRPC when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, e.g. `http://127.0.0.1:4317` for a local Jaeger,
//! under the process's name as `service.name`. `OTEL_TRACES_SAMPLER_ARG` (0.0–1.0, default 1.0)
//! is the fraction of new traces recorded; work that continues a caller's trace follows the
//! caller's decision, so a trace is whole or absent. `OTEL_SDK_DISABLED=true` leaves
//! OpenTelemetry out altogether: no spans beyond the logs', and every hop starts a trace of its
//! own (the baseline the benchmark compares tracing's cost with).

use std::io::IsTerminal;
use std::sync::OnceLock;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Logs and spans without `RUST_LOG`: `info`, less of the clients' chatter, and none of the
/// transport crates' own spans (among them the span exporter's, which would trace itself).
const DEFAULT: &str = concat!(
    "info,rdkafka=warn,sqlx=warn,mongodb=warn,h2=warn,hyper=warn,hyper_util=warn,tonic=warn,",
    "tower=warn,reqwest=warn,opentelemetry=warn,opentelemetry_sdk=warn,opentelemetry_otlp=warn"
);

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Installs the global subscriber; call it at the start of `main`, inside the Tokio runtime (the
/// exporter's client needs it). Safe to call more than once (tests): later calls do nothing.
/// Keep the returned guard until the process ends: dropping it sends the spans not yet exported.
pub fn init(service: &str) -> Guard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT));
    let json = match std::env::var("LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok("pretty") | Ok("text") => false,
        _ => !std::io::stdout().is_terminal(),
    };
    let logs = match json {
        true => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .boxed(),
        false => tracing_subscriber::fmt::layer().boxed(),
    };
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    let (traces, provider, export) = match disabled {
        true => (None, None, "off (OTEL_SDK_DISABLED)".to_owned()),
        false => {
            let (provider, export) = tracer_provider(service);
            let layer = spans(&provider, service);
            (Some(layer), Some(provider), export)
        }
    };
    // One filter for both: filters of their own per layer (tried) now and then left a
    // process whose request spans were off for both from its first request on.
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(traces)
        .try_init();
    if installed.is_ok() {
        if let Some(provider) = provider {
            let _ = PROVIDER.set(provider);
        }
        tracing::info!(service, version = env!("CARGO_PKG_VERSION"), traces = %export, "starting");
    }
    Guard(())
}

/// The layer that makes this system's spans OpenTelemetry spans of `provider`'s tracer.
fn spans<S>(provider: &SdkTracerProvider, service: &str) -> impl Layer<S> + use<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    // What the spans carry is kept to what a trace is read for: no source locations, thread or
    // busy/idle figures on each.
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer(service.to_owned()))
        .with_location(false)
        .with_threads(false)
        .with_tracked_inactivity(false)
}

/// Flushes and stops the span exporter when dropped ([`init`]).
#[must_use = "spans not yet exported are lost if the guard is dropped early"]
pub struct Guard(());

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(provider) = PROVIDER.get()
            && let Err(error) = provider.shutdown()
        {
            eprintln!("the span exporter did not stop cleanly: {error}");
        }
    }
}

/// The provider of this process's tracer, and where its spans go (for the start-up line).
fn tracer_provider(service: &str) -> (SdkTracerProvider, String) {
    let ratio = sample_ratio(std::env::var("OTEL_TRACES_SAMPLER_ARG").ok().as_deref());
    let builder = SdkTracerProvider::builder()
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            ratio,
        ))))
        .with_resource(
            Resource::builder()
                .with_service_name(service.to_owned())
                .build(),
        );
    let set =
        |value: Result<String, std::env::VarError>| value.ok().filter(|v| !v.trim().is_empty());
    let endpoint = set(std::env::var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
        .or_else(|| set(std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")));
    let Some(endpoint) = endpoint else {
        return (
            builder.build(),
            "not exported (no OTEL_EXPORTER_OTLP_ENDPOINT)".into(),
        );
    };
    match opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()
    {
        Ok(exporter) => (
            builder.with_batch_exporter(exporter).build(),
            format!("OTLP to {endpoint}, {ratio} of new traces"),
        ),
        Err(error) => {
            eprintln!("traces are not exported: the OTLP exporter for {endpoint} failed: {error}");
            (builder.build(), format!("not exported ({error})"))
        }
    }
}

/// `OTEL_TRACES_SAMPLER_ARG` as a fraction: 1.0 when absent or not a number in 0–1.
fn sample_ratio(value: Option<&str>) -> f64 {
    match value.map(|v| v.trim().parse::<f64>()) {
        Some(Ok(ratio)) if (0.0..=1.0).contains(&ratio) => ratio,
        Some(_) => {
            eprintln!(
                "OTEL_TRACES_SAMPLER_ARG is not a fraction between 0 and 1: recording every trace"
            );
            1.0
        }
        None => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_sdk::trace::InMemorySpanExporter;

    #[test]
    fn a_request_span_and_its_children_join_the_callers_trace_and_are_exported() {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let subscriber = tracing_subscriber::registry()
            .with(EnvFilter::new(DEFAULT))
            .with(tracing_subscriber::fmt::layer().with_test_writer())
            .with(spans(&provider, "test"));
        let sent = tracing::subscriber::with_default(subscriber, || {
            let request = tracing::info_span!(
                "http",
                trace_id = tracing::field::Empty,
                order.id = tracing::field::Empty
            );
            crate::trace::follow(
                &request,
                Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            );
            request.in_scope(|| tracing::info_span!("payment call").in_scope(crate::trace::current))
        });
        let spans = exporter.get_finished_spans().expect("spans");
        let names: Vec<_> = spans.iter().map(|s| s.name.to_string()).collect();
        assert_eq!(names, ["payment call", "http"]);
        for span in &spans {
            assert_eq!(
                span.span_context.trace_id().to_string(),
                "4bf92f3577b34da6a3ce929d0e0e4736"
            );
        }
        assert_eq!(spans[1].parent_span_id.to_string(), "00f067aa0ba902b7");
        assert_eq!(spans[0].parent_span_id, spans[1].span_context.span_id());
        let call = spans[0].span_context.span_id().to_string();
        assert!(
            sent.contains(&call),
            "{sent} names the payment call as the parent"
        );
    }

    #[test]
    fn the_sampling_ratio_is_a_fraction_or_everything() {
        assert_eq!(sample_ratio(None), 1.0);
        assert_eq!(sample_ratio(Some("0.1")), 0.1);
        assert_eq!(sample_ratio(Some(" 0 ")), 0.0);
        assert_eq!(sample_ratio(Some("2")), 1.0);
        assert_eq!(sample_ratio(Some("most")), 1.0);
    }
}
