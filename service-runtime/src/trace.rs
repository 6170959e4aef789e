//! W3C trace context carried on events (`traceparent` header), so that one customer request can
//! be followed across every service it causes work in.
//!
//! A handler's events continue the trace of the event being handled; an HTTP request's events
//! continue the request's `traceparent` if the gateway sent one. Otherwise a new trace starts.

use rand::Rng;

tokio::task_local! {
    static CURRENT: TraceParent;
}

/// A `traceparent` value: `00-<trace id>-<parent span id>-<flags>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent {
    trace_id: String,
    flags: String,
}

impl TraceParent {
    /// Parses a `traceparent` header; `None` if it is not a valid version-00 value.
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let (version, trace_id, span_id, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let hex = |s: &str, len| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
        let valid = version == "00"
            && hex(trace_id, 32)
            && hex(span_id, 16)
            && hex(flags, 2)
            && trace_id.bytes().any(|b| b != b'0')
            && parts.next().is_none();
        valid.then(|| Self {
            trace_id: trace_id.to_ascii_lowercase(),
            flags: flags.to_owned(),
        })
    }

    /// A new trace.
    pub fn new_root() -> Self {
        Self {
            trace_id: format!("{:032x}", rand::rng().random::<u128>() | 1),
            flags: "01".to_owned(),
        }
    }

    pub fn trace_id(&self) -> &str {
        &self.trace_id
    }

    /// The header value for a new child span of this trace.
    pub fn child_header(&self) -> String {
        format!(
            "00-{}-{:016x}-{}",
            self.trace_id,
            rand::rng().random::<u64>() | 1,
            self.flags
        )
    }

    /// The trace of the current task, or a new one.
    pub fn current_or_new() -> Self {
        CURRENT
            .try_with(Clone::clone)
            .unwrap_or_else(|_| Self::new_root())
    }

    /// Runs `fut` with this trace as the current one.
    pub async fn scope<F: Future>(self, fut: F) -> F::Output {
        CURRENT.scope(self, fut).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_traceparent_parses_and_its_children_keep_the_trace() {
        let parent =
            TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        let child = TraceParent::parse(&parent.child_header()).unwrap();
        assert_eq!(child.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
    }

    #[test]
    fn invalid_traceparents_are_refused() {
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-zzf067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn the_scoped_trace_is_current_inside_the_scope_only() {
        let root = TraceParent::new_root();
        let inside = root
            .clone()
            .scope(async { TraceParent::current_or_new() })
            .await;
        assert_eq!(inside, root);
        assert_ne!(TraceParent::current_or_new(), root);
    }
}
