//! W3C trace context (`traceparent`), through OpenTelemetry: one customer request, and the saga it
//! starts, is one trace across every process it causes work in.
//!
//! Spans are `tracing` spans; [`crate::telemetry`] installs the layer that makes each one an
//! OpenTelemetry span (exported when an OTLP endpoint is configured). The context travels in the
//! `traceparent` HTTP header, in the outbox row of every event and in the Kafka record's
//! `traceparent` header: a request's work continues its caller's trace ([`follow`]), a consumed
//! event's work continues the trace of the work that wrote the event, and what a span calls or
//! writes names it as the parent ([`header_for`]).
//!
//! Spans that may carry a trace declare the fields `trace_id` (for the logs) and `order.id`
//! (recorded when the work is about one order), empty until known.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use rand::Rng;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The header (HTTP and Kafka) that carries the context.
pub const HEADER: &str = "traceparent";

/// Makes `span` a child of the work a `traceparent` value names (an incoming request's header,
/// an event's), if it is a valid one, and records the trace id in the span's `trace_id` field.
/// Call it before the span is first entered: a started span keeps its parent.
pub fn follow(span: &Span, traceparent: Option<&str>) {
    if let Some(parent) = traceparent.and_then(remote_parent)
        && let Err(error) = span.set_parent(parent)
    {
        tracing::debug!(%error, "the trace context could not be followed");
    }
    record_trace_id(span);
}

/// The span of the gRPC call served here, named after its method (`/<package>.<Service>/<Method>`)
/// and continuing the caller's trace (the `traceparent` among `headers`).
pub fn grpc_span(method: &str, headers: &axum::http::HeaderMap) -> Span {
    let span = tracing::info_span!("grpc", otel.name = %method, otel.kind = "server",
        trace_id = tracing::field::Empty, order.id = tracing::field::Empty);
    follow(&span, headers.get(HEADER).and_then(|v| v.to_str().ok()));
    span
}

/// A span for the rest of the current span's work on one order, as part of that order's trace: a
/// person's request about an order (an owner accepting it, a rider delivering it) does work of
/// the order's saga, whose trace began with the customer's request. The new span is a child of
/// `traceparent` (the order's context as its service stored it), linked to the request's span;
/// without a valid `traceparent`, simply a child of the request's span.
pub fn join(name: &str, order_id: impl std::fmt::Display, traceparent: Option<&str>) -> Span {
    let request = Span::current();
    let joined = tracing::info_span!("join", otel.name = %name, order.id = %order_id,
        trace_id = tracing::field::Empty);
    if let Some(parent) = traceparent.and_then(remote_parent)
        && joined.set_parent(parent).is_ok()
    {
        joined.add_link(request.context().span().span_context().clone());
    }
    record_trace_id(&joined);
    joined
}

/// The OpenTelemetry context whose remote parent a `traceparent` value names, if it is valid.
fn remote_parent(traceparent: &str) -> Option<opentelemetry::Context> {
    context_of(traceparent)
        .map(|parent| opentelemetry::Context::new().with_remote_span_context(parent))
}

/// The `traceparent` value that names `span` as the parent of the receiver's work: for a call's
/// header, an event's outbox row. Without tracing (no subscriber, a disabled span) it starts a
/// new, unsampled trace, so that every message still carries a valid context.
pub fn header_for(span: &Span) -> String {
    let cx = span.context();
    if cx.span().span_context().is_valid() {
        let mut carrier = Carrier(None);
        TraceContextPropagator::new().inject_context(&cx, &mut carrier);
        if let Some(value) = carrier.0 {
            return value;
        }
    }
    let mut rng = rand::rng();
    format!(
        "00-{:032x}-{:016x}-00",
        rng.random::<u128>() | 1,
        rng.random::<u64>() | 1
    )
}

/// [`header_for`] the current span.
pub fn current() -> String {
    header_for(&Span::current())
}

/// Whether `value` is a valid `traceparent` (version 00, non-zero ids).
pub fn is_valid(value: &str) -> bool {
    context_of(value).is_some()
}

/// The trace id of `span` (32 hex digits), if it has a context.
pub fn trace_id(span: &Span) -> Option<String> {
    let cx = span.context();
    let context = cx.span().span_context().clone();
    context.is_valid().then(|| context.trace_id().to_string())
}

fn record_trace_id(span: &Span) {
    if let Some(id) = trace_id(span) {
        span.record("trace_id", id);
    }
}

fn context_of(traceparent: &str) -> Option<SpanContext> {
    let traceparent = traceparent.trim();
    // The propagator takes ids of any length up to theirs; W3C wants exactly theirs.
    let lengths: Vec<usize> = traceparent.split('-').map(str::len).collect();
    if lengths.get(..4) != Some(&[2, 32, 16, 2]) {
        return None;
    }
    let cx = TraceContextPropagator::new().extract(&Carrier(Some(traceparent.to_owned())));
    let context = cx.span().span_context().clone();
    context.is_valid().then_some(context)
}

/// A carrier of the one header the propagator reads and writes.
struct Carrier(Option<String>);

impl Extractor for Carrier {
    fn get(&self, key: &str) -> Option<&str> {
        (key == HEADER).then_some(self.0.as_deref()).flatten()
    }

    fn keys(&self) -> Vec<&str> {
        vec![HEADER]
    }
}

impl Injector for Carrier {
    fn set(&mut self, key: &str, value: String) {
        if key == HEADER {
            self.0 = Some(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn with_tracing<T>(f: impl FnOnce() -> T) -> T {
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let tracer = opentelemetry::trace::TracerProvider::tracer(&provider, "test");
        let subscriber =
            tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
        tracing::subscriber::with_default(subscriber, f)
    }

    fn span() -> Span {
        tracing::info_span!(
            "work",
            trace_id = tracing::field::Empty,
            order.id = tracing::field::Empty
        )
    }

    #[test]
    fn a_followed_span_continues_the_trace_and_its_children_name_it_as_parent() {
        with_tracing(|| {
            let work = span();
            follow(&work, Some(PARENT));
            assert_eq!(
                trace_id(&work).as_deref(),
                Some("4bf92f3577b34da6a3ce929d0e0e4736")
            );
            let header = header_for(&work);
            let child = context_of(&header).expect("a valid traceparent");
            assert_eq!(
                child.trace_id().to_string(),
                "4bf92f3577b34da6a3ce929d0e0e4736"
            );
            assert_ne!(child.span_id().to_string(), "00f067aa0ba902b7");
            assert!(child.is_sampled(), "the caller's sampling decision holds");
        });
    }

    #[test]
    fn without_a_valid_parent_a_span_starts_its_own_trace() {
        with_tracing(|| {
            let work = span();
            follow(
                &work,
                Some("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            );
            let own = trace_id(&work).expect("a trace of its own");
            assert_ne!(own, "00000000000000000000000000000000");
            assert_eq!(
                context_of(&header_for(&work))
                    .unwrap()
                    .trace_id()
                    .to_string(),
                own
            );
        });
    }

    #[test]
    fn joined_work_continues_the_orders_trace() {
        with_tracing(|| {
            let request = span();
            follow(&request, None);
            let _entered = request.enter();
            let joined = join("accept order", 7, Some(PARENT));
            assert_eq!(
                trace_id(&joined).as_deref(),
                Some("4bf92f3577b34da6a3ce929d0e0e4736")
            );
            assert_ne!(trace_id(&request), trace_id(&joined));
            let alone = join("accept order", 7, None);
            assert_eq!(trace_id(&alone), trace_id(&request));
        });
    }

    #[test]
    fn without_tracing_every_header_is_still_a_valid_new_trace() {
        let first = current();
        assert!(is_valid(&first));
        assert_ne!(
            context_of(&first).unwrap().trace_id(),
            context_of(&current()).unwrap().trace_id()
        );
    }

    #[test]
    fn invalid_traceparents_are_refused() {
        for bad in [
            "",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-zzf067aa0ba902b7-01",
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
        assert!(is_valid(PARENT));
    }
}
