//! Payment broken and healed under a steady stream of orders: how fast the order service's
//! circuit breaker cuts payment off, what a refusal costs the customer while it is open, and
//! how soon orders are placed again once payment is back.
//!
//! Orders arrive at a fixed rate (latency from each request's due time, as in the open loop)
//! through three phases: payment healthy, payment failing every call (its fault switch,
//! `PUT /admin/faults` on the payment service), payment healthy again. Beside the load the run
//! polls the order service's `payment_breaker_open` gauge and counts the calls payment received
//! (its `http_requests_total` for `POST /payments`) from the moment it began to fail until the
//! breaker was seen open: the calls the breaker needed, retries included.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::gateway::{Gateway, OrderTemplate};
use crate::open_loop::at_fixed_rate;
use crate::stats::{Percentiles, percentiles};
use anyhow::Context;
use serde::Serialize;
use serde_json::json;

pub struct Plan {
    pub rate: f64,
    pub healthy: Duration,
    pub failing: Duration,
    pub healed: Duration,
    pub customers: usize,
    /// The payment service itself (its fault switch and its /metrics).
    pub payment_url: String,
    /// The order service itself (its /metrics).
    pub order_url: String,
}

#[derive(Serialize)]
pub struct BreakerReport {
    pub mode: &'static str,
    pub rate: f64,
    pub healthy_s: f64,
    pub failing_s: f64,
    pub healed_s: f64,
    pub healthy: PhaseReport,
    pub failing: PhaseReport,
    pub healed: PhaseReport,
    /// Calls payment received from the moment it began to fail until the breaker was seen
    /// open (polled every 20 ms: at most a call or two more than the breaker needed).
    pub calls_until_open: Option<u64>,
    /// From the moment payment began to fail until the breaker was seen open.
    pub open_after_ms: Option<f64>,
    /// Requests due while the breaker was open (before payment healed), answered 503 with
    /// Retry-After, and what they cost: the refusals the breaker is for.
    pub refusals: Refusals,
    /// From payment healing until the first order was placed, and until every later order was.
    pub first_placed_after_heal_ms: Option<f64>,
    pub recovered_after_heal_ms: Option<f64>,
    /// The breaker's open period, read from the answers' Retry-After (seconds).
    pub open_period_s: Option<u64>,
}

#[derive(Serialize, Default)]
pub struct PhaseReport {
    pub sent: usize,
    pub ok: usize,
    /// Status code → count; "0" is a request that got no answer.
    pub codes: BTreeMap<String, usize>,
    pub latency_ms: Option<Percentiles>,
}

#[derive(Serialize, Default)]
pub struct Refusals {
    pub count: usize,
    pub without_retry_after: usize,
    pub latency_ms: Option<Percentiles>,
}

struct Outcome {
    due: Instant,
    done: Instant,
    status: u16,
    retry_after: Option<u64>,
}

/// When the phases really began and when the breaker was seen open.
#[derive(Default)]
struct Timeline {
    failing_from: Option<Instant>,
    healed_from: Option<Instant>,
    opened_at: Option<Instant>,
    calls_until_open: Option<u64>,
}

pub async fn run(
    gateway: &Gateway,
    template: &OrderTemplate,
    run: &str,
    plan: &Plan,
) -> anyhow::Result<BreakerReport> {
    anyhow::ensure!(plan.rate > 0.0, "--rate must be positive");
    let services = Services::new(&plan.payment_url, &plan.order_url)?;
    services.payment_fails(0.0).await?;
    let tokens = gateway
        .customer_tokens(&format!("bench-breaker-{run}"), plan.customers)
        .await?;
    let length = plan.healthy + plan.failing + plan.healed;
    let total = (plan.rate * length.as_secs_f64()).round() as usize;
    let address = format!("Seoul-Gangnam-{run}");

    let start = Instant::now();
    let timeline = tokio::spawn(drive_faults(
        services.clone(),
        start,
        plan.healthy,
        plan.failing,
    ));
    let outcomes = at_fixed_rate(start, plan.rate, total, |i, due| {
        let gateway = gateway.clone();
        let token = tokens[i % tokens.len()].clone();
        let key = format!("bench-breaker-{run}-{i}");
        let address = address.clone();
        let template = OrderTemplate {
            store_id: template.store_id.clone(),
            menu_item_id: template.menu_item_id.clone(),
        };
        async move {
            let answer = gateway.place_order(&token, &key, &template, &address).await;
            let (status, retry_after) = answer.map_or((0, None), |a| (a.status, a.retry_after));
            Outcome {
                due,
                done: Instant::now(),
                status,
                retry_after,
            }
        }
    })
    .await;
    let timeline = timeline.await.context("the fault driver failed")??;
    Ok(summarize(plan, &outcomes, &timeline))
}

/// Switches payment to failing when the healthy phase ends and back when the failing phase
/// ends, watching the breaker in between.
async fn drive_faults(
    services: Services,
    start: Instant,
    healthy: Duration,
    failing: Duration,
) -> anyhow::Result<Timeline> {
    let mut timeline = Timeline::default();
    tokio::time::sleep_until((start + healthy).into()).await;
    let calls_before = services.payment_calls().await?;
    // A phase begins when its switch is thrown: an order due a moment before may still meet
    // the new state, and is counted in the phase it was due in.
    let failing_from = Instant::now();
    services.payment_fails(1.0).await?;
    timeline.failing_from = Some(failing_from);
    let heal_at = start + healthy + failing;
    while Instant::now() < heal_at {
        if services.breaker_open().await? {
            timeline.opened_at = Some(Instant::now());
            timeline.calls_until_open = Some(services.payment_calls().await? - calls_before);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep_until(heal_at.into()).await;
    timeline.healed_from = Some(Instant::now());
    services.payment_fails(0.0).await?;
    Ok(timeline)
}

fn summarize(plan: &Plan, outcomes: &[Outcome], timeline: &Timeline) -> BreakerReport {
    let ms = |d: Duration| (d.as_secs_f64() * 10_000.0).round() / 10.0;
    let (failing_from, healed_from) = (
        timeline
            .failing_from
            .expect("the fault driver records when payment began to fail"),
        timeline
            .healed_from
            .expect("the fault driver records when payment healed"),
    );
    let phase = |from: Option<Instant>, to: Option<Instant>| {
        let chosen: Vec<&Outcome> = outcomes
            .iter()
            .filter(|o| from.is_none_or(|f| o.due >= f) && to.is_none_or(|t| o.due < t))
            .collect();
        phase_report(&chosen)
    };
    let refused: Vec<&Outcome> = timeline.opened_at.map_or_else(Vec::new, |opened| {
        outcomes
            .iter()
            .filter(|o| o.due >= opened && o.due < healed_from && o.status == 503)
            .collect()
    });
    let after_heal: Vec<&Outcome> = outcomes.iter().filter(|o| o.due >= healed_from).collect();
    let first_placed = after_heal
        .iter()
        .filter(|o| (200..300).contains(&o.status))
        .map(|o| o.done)
        .min();
    // The due time of the last request after the heal that was not placed: every request due
    // after it was.
    let last_failure = after_heal
        .iter()
        .filter(|o| !(200..300).contains(&o.status))
        .map(|o| o.due)
        .max();
    let recovered = match last_failure {
        None => Some(healed_from),
        Some(last) => after_heal
            .iter()
            .filter(|o| o.due > last)
            .map(|o| o.due)
            .min(),
    };
    BreakerReport {
        mode: "breaker",
        rate: plan.rate,
        healthy_s: plan.healthy.as_secs_f64(),
        failing_s: plan.failing.as_secs_f64(),
        healed_s: plan.healed.as_secs_f64(),
        healthy: phase(None, Some(failing_from)),
        failing: phase(Some(failing_from), Some(healed_from)),
        healed: phase(Some(healed_from), None),
        calls_until_open: timeline.calls_until_open,
        open_after_ms: timeline.opened_at.map(|t| ms(t - failing_from)),
        refusals: Refusals {
            count: refused.len(),
            without_retry_after: refused.iter().filter(|o| o.retry_after.is_none()).count(),
            latency_ms: percentiles(
                &refused
                    .iter()
                    .map(|o| ms(o.done - o.due))
                    .collect::<Vec<_>>(),
            ),
        },
        first_placed_after_heal_ms: first_placed
            .map(|t| ms(t.saturating_duration_since(healed_from))),
        recovered_after_heal_ms: recovered.map(|t| ms(t.saturating_duration_since(healed_from))),
        open_period_s: refused.iter().filter_map(|o| o.retry_after).max(),
    }
}

fn phase_report(outcomes: &[&Outcome]) -> PhaseReport {
    let mut codes = BTreeMap::new();
    for o in outcomes {
        *codes.entry(o.status.to_string()).or_insert(0) += 1;
    }
    let latencies: Vec<f64> = outcomes
        .iter()
        .map(|o| (o.done - o.due).as_secs_f64() * 1000.0)
        .collect();
    PhaseReport {
        sent: outcomes.len(),
        ok: outcomes
            .iter()
            .filter(|o| (200..300).contains(&o.status))
            .count(),
        codes,
        latency_ms: percentiles(&latencies),
    }
}

/// The payment and order services themselves, beside the gateway: payment's fault switch and
/// the two services' metrics.
#[derive(Clone)]
struct Services {
    http: reqwest::Client,
    payment: String,
    order: String,
}

impl Services {
    fn new(payment: &str, order: &str) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()?,
            payment: payment.trim_end_matches('/').to_owned(),
            order: order.trim_end_matches('/').to_owned(),
        })
    }

    /// Sets the share of payment calls that fail (no delay).
    async fn payment_fails(&self, rate: f64) -> anyhow::Result<()> {
        self.http
            .put(format!("{}/admin/faults", self.payment))
            .header("x-user-id", "bench")
            .header("x-user-role", "admin")
            .json(&json!({ "delay": { "minMs": 0, "maxMs": 0 }, "failureRate": rate }))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .with_context(|| format!("cannot set payment's faults at {}", self.payment))?;
        Ok(())
    }

    async fn metrics(&self, base: &str) -> anyhow::Result<String> {
        self.http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .with_context(|| format!("cannot read {base}/metrics"))?
            .text()
            .await
            .context("unreadable metrics")
    }

    /// `POST /payments` requests payment has received, whatever their answer.
    async fn payment_calls(&self) -> anyhow::Result<u64> {
        let text = self.metrics(&self.payment).await?;
        Ok(sample_sum(
            &text,
            "http_requests_total",
            &[r#"method="POST""#, r#"route="/payments""#],
        ) as u64)
    }

    async fn breaker_open(&self) -> anyhow::Result<bool> {
        let text = self.metrics(&self.order).await?;
        Ok(sample_sum(&text, "payment_breaker_open", &[]) >= 1.0)
    }
}

/// The sum of a Prometheus metric's samples whose labels contain every one of `labels`.
fn sample_sum(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let metric = series.split('{').next()?;
            (metric == name && labels.iter().all(|l| series.contains(l)))
                .then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_summed_over_the_matching_series_only() {
        let text = "\
# TYPE http_requests_total counter
http_requests_total{method=\"POST\",route=\"/payments\",status=\"201\"} 10
http_requests_total{method=\"POST\",route=\"/payments\",status=\"503\"} 4
http_requests_total{method=\"GET\",route=\"/payments\",status=\"200\"} 7
http_requests_total_other{method=\"POST\",route=\"/payments\"} 100
payment_breaker_open 1
";
        let posts = [r#"method="POST""#, r#"route="/payments""#];
        assert_eq!(sample_sum(text, "http_requests_total", &posts), 14.0);
        assert_eq!(sample_sum(text, "payment_breaker_open", &[]), 1.0);
        assert_eq!(sample_sum(text, "absent", &[]), 0.0);
    }
}
