//! Reading the services' own `/health/ready` and `/metrics`, which the gateway reaches and the
//! public does not: what the ops page shows ([`crate::ops`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;

use crate::rules::Upstream;
use crate::settings::Upstreams;

/// The metrics summed over their labels, as `/metrics` names them.
pub const METRICS: [&str; 8] = [
    "payment_breaker_open",
    "kafka_consumer_lag",
    "outbox_pending",
    "outbox_oldest_pending_age_seconds",
    "outbox_parked",
    "events_dead_lettered_total",
    "events_consumed_total",
    "admission_in_flight",
];

/// How long a service may take to answer a probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct Probes {
    client: reqwest::Client,
    upstreams: Arc<Upstreams>,
}

impl Probes {
    pub fn new(upstreams: &Upstreams) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(PROBE_TIMEOUT)
            .no_proxy()
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            client,
            upstreams: Arc::new(upstreams.clone()),
        })
    }

    pub async fn service(&self, upstream: Upstream) -> ServiceHealth {
        let base = &self.upstreams.get(upstream).base_url;
        let ready = match self.client.get(format!("{base}/health/ready")).send().await {
            Ok(answer) => Some(answer.status().is_success()),
            Err(_) => None,
        };
        let text = match self.client.get(format!("{base}/metrics")).send().await {
            Ok(answer) if answer.status().is_success() => answer.text().await.ok(),
            _ => None,
        };
        let metrics = text
            .map(|text| {
                METRICS
                    .iter()
                    .filter_map(|name| sum(&text, name).map(|v| ((*name).to_owned(), v)))
                    .collect()
            })
            .unwrap_or_default();
        ServiceHealth {
            service: upstream.name(),
            reachable: ready.is_some(),
            ready: ready.unwrap_or(false),
            metrics,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceHealth {
    #[schema(example = "order")]
    pub service: &'static str,
    /// Whether it answered at all.
    pub reachable: bool,
    /// Whether its `/health/ready` said ready (its database and Kafka answer).
    pub ready: bool,
    /// Each of the watched metrics it exposes, summed over labels: `payment_breaker_open`
    /// (order; 1 while open), `kafka_consumer_lag` (its groups' messages yet to read, all
    /// partitions), `outbox_pending` (events written and not yet published) and
    /// `outbox_oldest_pending_age_seconds`, `outbox_parked`, `events_dead_lettered_total`,
    /// `events_consumed_total`, `admission_in_flight`.
    #[schema(value_type = Object)]
    pub metrics: BTreeMap<String, f64>,
}

/// The sum of `name`'s samples (any labels) in Prometheus text, or `None` if it has none.
pub fn sum(text: &str, name: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            continue;
        }
        let value = rest.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
        if let Some(value) = value {
            *found.get_or_insert(0.0) += value;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_summed_over_labels_and_other_names_ignored() {
        let text = "# TYPE events_dead_lettered_total counter\n\
            events_dead_lettered_total{consumer=\"a\"} 2\n\
            events_dead_lettered_total{consumer=\"b\"} 3\n\
            events_dead_lettered_total_other 7\n\
            outbox_parked 0\n";
        assert_eq!(sum(text, "events_dead_lettered_total"), Some(5.0));
        assert_eq!(sum(text, "outbox_parked"), Some(0.0));
        assert_eq!(sum(text, "payment_breaker_open"), None);
    }
}
