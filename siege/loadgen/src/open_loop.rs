//! Orders at a fixed arrival rate, whatever the system does: request i is due at start + i/rate
//! and is sent then (or as soon as the generator can), never held back by slow answers. Its
//! latency counts from when it was due, so a stall shows in the percentiles as every request
//! it delayed, not as one slow request (coordinated omission, which closed-loop tools like
//! siege suffer from). The time from actually sending is reported beside it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use tokio::sync::mpsc;

use crate::gateway::{Gateway, OrderTemplate};
use crate::lag::{self, DrainReport, Watch};
use crate::propagation::{Propagation, PropagationReport};
use crate::stats::{Completion, Percentiles, Second, per_second, percentiles, round};

pub struct Plan {
    pub rate: f64,
    pub duration: Duration,
    /// Orders are spread over this many customers (round robin), each with its own token, so
    /// the gateway's per-user rate limit is shared the way real traffic shares it.
    pub customers: usize,
    /// How many orders a second are followed to mypage.
    pub samples_per_second: f64,
}

#[derive(Serialize)]
pub struct OpenLoopReport {
    pub mode: &'static str,
    pub rate: f64,
    pub duration_s: f64,
    pub customers: usize,
    pub started_ms: u64,
    pub ended_ms: u64,
    pub sent: usize,
    pub ok: usize,
    /// Status code → count; "0" is a request that got no answer (timeout, connection error).
    pub codes: BTreeMap<String, usize>,
    pub availability: f64,
    pub orders_per_second: f64,
    /// From when each request was due: what a client arriving at that moment waited.
    pub latency_ms: Option<Percentiles>,
    /// From when each request was actually sent.
    pub service_time_ms: Option<Percentiles>,
    /// How late the generator itself was in sending, at worst (it shares the machine).
    pub max_send_delay_ms: f64,
    pub propagation: PropagationReport,
    pub lag: Option<DrainReport>,
    pub series: Vec<Second>,
}

struct Outcome {
    due: Instant,
    sent: Instant,
    done: Instant,
    status: u16,
}

pub async fn run(
    gateway: &Gateway,
    template: &OrderTemplate,
    run: &str,
    plan: &Plan,
    lag_watch: Option<&Watch>,
) -> anyhow::Result<OpenLoopReport> {
    anyhow::ensure!(plan.rate > 0.0, "--rate must be positive");
    let tokens = gateway
        .customer_tokens(&format!("bench-customer-{run}"), plan.customers)
        .await?;
    let total = (plan.rate * plan.duration.as_secs_f64()).round() as usize;
    let sample_every = (plan.rate / plan.samples_per_second.max(0.001))
        .round()
        .max(1.0) as usize;
    let address = format!("Seoul-Gangnam-{run}");
    let propagation = Propagation::new(gateway.clone());

    let started_ms = unix_ms(SystemTime::now());
    let start = Instant::now();
    let outcomes = at_fixed_rate(start, plan.rate, total, |i, due| {
        let gateway = gateway.clone();
        let token = tokens[i % tokens.len()].clone();
        let key = format!("bench-{run}-{i}");
        let (address, propagation) = (address.clone(), propagation.clone());
        let template = OrderTemplate {
            store_id: template.store_id.clone(),
            menu_item_id: template.menu_item_id.clone(),
        };
        async move {
            let sent = Instant::now();
            let answer = gateway.place_order(&token, &key, &template, &address).await;
            let done = Instant::now();
            let status = answer.as_ref().map_or(0, |a| a.status);
            if let Ok(placed) = answer
                && i % sample_every == 0
                && let Some(id) = placed.order_id
            {
                propagation.follow(token, id, done);
            }
            Outcome {
                due,
                sent,
                done,
                status,
            }
        }
    })
    .await;
    let ended_ms = unix_ms(SystemTime::now());

    // The load has ended: the lag now is what it left behind. Followed orders finish meanwhile.
    let (lag, propagation) = match lag_watch {
        Some(watch) => {
            let (lag, propagation) = tokio::join!(lag::drain(watch), propagation.finish());
            (Some(lag?), propagation)
        }
        None => (None, propagation.finish().await),
    };
    Ok(summarize(
        plan,
        start,
        started_ms,
        ended_ms,
        &outcomes,
        propagation,
        lag,
    ))
}

fn summarize(
    plan: &Plan,
    start: Instant,
    started_ms: u64,
    ended_ms: u64,
    outcomes: &[Outcome],
    propagation: PropagationReport,
    lag: Option<DrainReport>,
) -> OpenLoopReport {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut codes = BTreeMap::new();
    for o in outcomes {
        *codes.entry(o.status.to_string()).or_insert(0) += 1;
    }
    let is_ok = |o: &Outcome| (200..300).contains(&o.status);
    let ok = outcomes.iter().filter(|o| is_ok(o)).count();
    let last_done = outcomes.iter().map(|o| o.done).max().unwrap_or(start);
    let elapsed = last_done
        .duration_since(start)
        .max(plan.duration)
        .as_secs_f64();
    let latencies: Vec<f64> = outcomes.iter().map(|o| ms(o.done - o.due)).collect();
    let service_times: Vec<f64> = outcomes.iter().map(|o| ms(o.done - o.sent)).collect();
    let completions: Vec<Completion> = outcomes
        .iter()
        .map(|o| Completion {
            at_ms: started_ms + ms(o.done - start) as u64,
            latency_ms: ms(o.done - o.due),
            ok: is_ok(o),
        })
        .collect();
    OpenLoopReport {
        mode: "open-loop",
        rate: plan.rate,
        duration_s: plan.duration.as_secs_f64(),
        customers: plan.customers,
        started_ms,
        ended_ms,
        sent: outcomes.len(),
        ok,
        codes,
        availability: match outcomes.len() {
            0 => 0.0,
            n => (10_000.0 * ok as f64 / n as f64).round() / 100.0,
        },
        orders_per_second: (100.0 * ok as f64 / elapsed).round() / 100.0,
        latency_ms: percentiles(&latencies),
        service_time_ms: percentiles(&service_times),
        max_send_delay_ms: round(
            outcomes
                .iter()
                .map(|o| ms(o.sent - o.due))
                .fold(0.0, f64::max),
        ),
        propagation,
        lag,
        series: per_second(&completions),
    }
}

/// Runs `request(i, due)` for each `i` below `total`, each started at its due time, `start +
/// i / rate` (or as soon as the generator can), whatever became of the earlier ones: an open
/// loop. Returns every request's output, in the order they completed.
pub async fn at_fixed_rate<T, F, Fut>(start: Instant, rate: f64, total: usize, request: F) -> Vec<T>
where
    F: Fn(usize, Instant) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let (outputs_tx, mut outputs_rx) = mpsc::unbounded_channel();
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let (request, outputs_tx) = (request(i, due), outputs_tx.clone());
        tokio::spawn(async move {
            let _ = outputs_tx.send(request.await);
        });
    }
    drop(outputs_tx);
    let mut outputs = Vec::with_capacity(total);
    while let Some(output) = outputs_rx.recv().await {
        outputs.push(output);
    }
    outputs
}

pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
