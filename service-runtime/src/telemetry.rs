//! Structured logs and traces with `tracing`.
//!
//! Logs: JSON when the output is not a terminal (or `LOG_FORMAT=json`), human-readable
//! otherwise; `RUST_LOG` filters them, `info` by default.
//!
//! Traces: every span of this system's code (an HTTP request, the payment call, a consumed
//! message, an outbox publish, a database transaction) is also an OpenTelemetry span, whatever
//! `RUST_LOG` says, so that trace context is always carried on ([`crate::trace`]). They are
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

/// What the tracing layer leaves out: the transport crates' own spans (among them the
/// exporter's, which would trace themselves), and the clients' chatter.
const TRACED: &str = "info,h2=off,hyper=off,hyper_util=off,tonic=off,tower=off,reqwest=off,\
    opentelemetry=off,opentelemetry_sdk=off,opentelemetry_otlp=off,rdkafka=off,sqlx=off,mongodb=off";

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Installs the global subscriber; call it at the start of `main`, inside the Tokio runtime (the
/// exporter's client needs it). Safe to call more than once (tests): later calls do nothing.
/// Keep the returned guard until the process ends: dropping it sends the spans not yet exported.
pub fn init(service: &str) -> Guard {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,rdkafka=warn,sqlx=warn,mongodb=warn"));
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
            let layer = tracing_opentelemetry::layer()
                .with_tracer(provider.tracer(service.to_owned()))
                .with_filter(EnvFilter::new(TRACED));
            (Some(layer), Some(provider), export)
        }
    };
    let installed = tracing_subscriber::registry()
        .with(logs.with_filter(filter))
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
    let endpoint = [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]
    .into_iter()
    .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()));
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
    use super::sample_ratio;

    #[test]
    fn the_sampling_ratio_is_a_fraction_or_everything() {
        assert_eq!(sample_ratio(None), 1.0);
        assert_eq!(sample_ratio(Some("0.1")), 0.1);
        assert_eq!(sample_ratio(Some(" 0 ")), 0.0);
        assert_eq!(sample_ratio(Some("2")), 1.0);
        assert_eq!(sample_ratio(Some("most")), 1.0);
    }
}
