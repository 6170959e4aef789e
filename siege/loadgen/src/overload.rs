//! Past capacity: does the system keep serving what it can, fast, and refuse the rest cleanly?
//!
//! First the capacity: either given, or measured as the 2xx/s of a closed loop (clients that
//! place their next order when the last is answered, so the system sets the pace). Then open-loop
//! phases (fixed arrival rates, latency from each request's due time) at half the capacity (the
//! unloaded reference), at each multiple asked for, and at half again right after the heaviest
//! one, to see how long the system takes to recover. Beside the orders, the customers cancel some
//! of the orders they placed earlier, at a low fixed rate: a state change on an existing order,
//! which must not be refused while new orders are.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::gateway::{Gateway, OrderTemplate};
use crate::open_loop::{at_fixed_rate, unix_ms};
use crate::stats::{Percentiles, percentiles, round};

pub struct Plan {
    /// Orders/s the system sustains; `None` measures it first.
    pub capacity: Option<f64>,
    pub measure_for: Duration,
    pub measure_clients: usize,
    pub multipliers: Vec<f64>,
    pub duration: Duration,
    pub recovery: Duration,
    pub customers: usize,
    /// Cancellations of earlier orders a second, beside the orders.
    pub cancel_rate: f64,
}

#[derive(Serialize)]
pub struct OverloadReport {
    pub mode: &'static str,
    pub capacity: f64,
    /// "measured" (closed loop) or "configured".
    pub capacity_source: &'static str,
    pub duration_s: f64,
    pub phases: Vec<PhaseReport>,
    /// Seconds from the end of the heaviest phase until the p99 of a second's requests came
    /// back within 2× the unloaded p99 (and stayed there); None if it never did.
    pub recovery_s: Option<f64>,
}

#[derive(Serialize)]
pub struct PhaseReport {
    pub name: String,
    pub multiplier: f64,
    pub rate: f64,
    pub started_ms: u64,
    pub sent: usize,
    pub ok: usize,
    /// 2xx answers a second.
    pub goodput: f64,
    /// Status → count; "0" is no answer (timeout, connection error).
    pub codes: BTreeMap<String, usize>,
    /// Of the 2xx answers, from when each request was due.
    pub accepted_ms: Option<Percentiles>,
    /// Of the answers that were not 2xx.
    pub refused_ms: Option<Percentiles>,
    pub cancels: CancelReport,
    /// p99 (ms) of the requests due in each second of the phase.
    pub p99_by_second: Vec<Option<f64>>,
}

#[derive(Default, Serialize)]
pub struct CancelReport {
    pub sent: usize,
    pub codes: BTreeMap<String, usize>,
    /// Answered 503 or 429 (or no answer): refused for overload.
    pub refused: usize,
}

struct Outcome {
    due: Instant,
    done: Instant,
    status: u16,
}

/// Orders placed so far, for the cancellations to draw from: (customer index, order id).
type Placed = Arc<Mutex<Vec<(usize, String)>>>;

pub async fn run(
    gateway: &Gateway,
    template: &OrderTemplate,
    run: &str,
    plan: &Plan,
) -> anyhow::Result<OverloadReport> {
    let tokens = gateway
        .customer_tokens(&format!("overload-customer-{run}"), plan.customers)
        .await?;
    let load = Load {
        gateway: gateway.clone(),
        template: Arc::new(OrderTemplate {
            store_id: template.store_id.clone(),
            menu_item_id: template.menu_item_id.clone(),
        }),
        tokens: Arc::new(tokens),
        run: run.to_owned(),
        placed: Arc::default(),
    };
    let (capacity, capacity_source) = match plan.capacity {
        Some(c) => (c, "configured"),
        None => {
            eprintln!(
                "loadgen: measuring capacity: {} clients, closed loop, {:?}",
                plan.measure_clients, plan.measure_for
            );
            (
                load.closed_loop(plan.measure_clients, plan.measure_for)
                    .await,
                "measured",
            )
        }
    };
    anyhow::ensure!(capacity > 0.0, "the capacity came out as 0 orders/s");

    let mut schedule = vec![("half".to_owned(), 0.5)];
    schedule.extend(plan.multipliers.iter().map(|m| (format!("{m}x"), *m)));
    let heaviest = schedule.len() - 1;
    schedule.push(("recovery".to_owned(), 0.5));
    let mut phases = Vec::new();
    let mut heaviest_ended = None;
    for (index, (name, multiplier)) in schedule.into_iter().enumerate() {
        let duration = if name == "recovery" {
            plan.recovery
        } else {
            plan.duration
        };
        let rate = capacity * multiplier;
        eprintln!("loadgen: {name}: {rate:.0} orders/s for {duration:?}");
        let phase = load
            .open_phase(&name, multiplier, rate, duration, plan.cancel_rate)
            .await;
        if index == heaviest {
            heaviest_ended = Some(phase.started_ms + duration.as_millis() as u64);
        }
        phases.push(phase);
    }
    let unloaded_p99 = phases[0].accepted_ms.map(|p| p.p99);
    let recovery = phases.last();
    let recovery_s = match (unloaded_p99, recovery, heaviest_ended) {
        (Some(p99), Some(recovery), Some(ended)) => {
            recovered_after(&recovery.p99_by_second, 2.0 * p99)
                .map(|s| round((recovery.started_ms - ended) as f64 / 1000.0 + s as f64))
        }
        _ => None,
    };
    Ok(OverloadReport {
        mode: "overload",
        capacity: round(capacity),
        capacity_source,
        duration_s: plan.duration.as_secs_f64(),
        phases,
        recovery_s,
    })
}

/// The first second from which every later second's p99 stays within `bound`; a second with
/// no requests counts as recovered.
pub fn recovered_after(p99_by_second: &[Option<f64>], bound: f64) -> Option<usize> {
    let mut first = None;
    for (second, p99) in p99_by_second.iter().enumerate() {
        match p99 {
            Some(p) if *p > bound => first = None,
            _ => {
                first.get_or_insert(second);
            }
        }
    }
    first.map(|s| s + 1)
}

#[derive(Clone)]
struct Load {
    gateway: Gateway,
    template: Arc<OrderTemplate>,
    tokens: Arc<Vec<String>>,
    run: String,
    placed: Placed,
}

impl Load {
    /// Orders/s answered 2xx by `clients` placing orders one after the other (each waits 50 ms
    /// after an answer that was not 2xx).
    async fn closed_loop(&self, clients: usize, duration: Duration) -> f64 {
        let start = Instant::now();
        let mut workers = Vec::new();
        for client in 0..clients.max(1) {
            let load = self.clone();
            workers.push(tokio::spawn(async move {
                let mut ok = 0u64;
                let mut n = 0u64;
                while start.elapsed() < duration {
                    let key = format!("overload-{}-capacity-{client}-{n}", load.run);
                    n += 1;
                    if load.place(client, &key).await.is_some_and(|s| s / 100 == 2) {
                        ok += 1;
                    } else {
                        // A refused client backs off a little rather than spin on refusals.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                ok
            }));
        }
        let mut ok = 0;
        for worker in workers {
            ok += worker.await.unwrap_or(0);
        }
        ok as f64 / start.elapsed().as_secs_f64()
    }

    async fn place(&self, customer: usize, key: &str) -> Option<u16> {
        let customer = customer % self.tokens.len();
        let address = format!("Seoul-Gangnam-{}", self.run);
        let placed = self
            .gateway
            .place_order(&self.tokens[customer], key, &self.template, &address)
            .await
            .ok()?;
        if let Some(id) = placed.order_id
            && let Ok(mut orders) = self.placed.lock()
        {
            orders.push((customer, id));
        }
        Some(placed.status)
    }

    async fn open_phase(
        &self,
        name: &str,
        multiplier: f64,
        rate: f64,
        duration: Duration,
        cancel_rate: f64,
    ) -> PhaseReport {
        let started_ms = unix_ms(std::time::SystemTime::now());
        let start = Instant::now();
        let cancels = tokio::spawn(self.clone().cancels(cancel_rate, duration));
        let total = (rate * duration.as_secs_f64()).round() as usize;
        let outcomes = at_fixed_rate(start, rate, total, |i, due| {
            let load = self.clone();
            let key = format!("overload-{}-{name}-{i}", self.run);
            async move {
                let status = load.place(i, &key).await.unwrap_or(0);
                Outcome {
                    due,
                    done: Instant::now(),
                    status,
                }
            }
        })
        .await;
        let cancels = cancels.await.unwrap_or_default();
        summarize(
            name, multiplier, rate, duration, start, started_ms, &outcomes, cancels,
        )
    }

    /// Customers cancel orders they placed earlier, at `rate` a second, for `duration`.
    async fn cancels(self, rate: f64, duration: Duration) -> CancelReport {
        let mut report = CancelReport::default();
        if rate <= 0.0 {
            return report;
        }
        let start = Instant::now();
        let mut answers = Vec::new();
        for i in 0.. {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            if due >= start + duration {
                break;
            }
            tokio::time::sleep_until(due.into()).await;
            let order = self.placed.lock().ok().and_then(|mut o| o.pop());
            let Some((customer, id)) = order else {
                continue;
            };
            let load = self.clone();
            answers.push(tokio::spawn(async move {
                load.gateway.cancel_order(&load.tokens[customer], &id).await
            }));
        }
        for answer in answers {
            let status = answer.await.unwrap_or(0);
            report.sent += 1;
            *report.codes.entry(status.to_string()).or_insert(0) += 1;
            if matches!(status, 0 | 429 | 503 | 504) {
                report.refused += 1;
            }
        }
        report
    }
}

#[allow(clippy::too_many_arguments)] // one phase's figures, computed in one place
fn summarize(
    name: &str,
    multiplier: f64,
    rate: f64,
    duration: Duration,
    start: Instant,
    started_ms: u64,
    outcomes: &[Outcome],
    cancels: CancelReport,
) -> PhaseReport {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let ok = |o: &&Outcome| o.status / 100 == 2;
    let mut codes = BTreeMap::new();
    for o in outcomes {
        *codes.entry(o.status.to_string()).or_insert(0) += 1;
    }
    let accepted: Vec<f64> = outcomes
        .iter()
        .filter(ok)
        .map(|o| ms(o.done - o.due))
        .collect();
    let refused: Vec<f64> = outcomes
        .iter()
        .filter(|o| !ok(o) && o.status != 0)
        .map(|o| ms(o.done - o.due))
        .collect();
    let seconds = duration.as_secs().max(1) as usize;
    let mut by_second = vec![Vec::new(); seconds];
    for o in outcomes {
        let second = (o.due - start).as_secs() as usize;
        if let Some(bucket) = by_second.get_mut(second) {
            bucket.push(ms(o.done - o.due));
        }
    }
    PhaseReport {
        name: name.to_owned(),
        multiplier,
        rate: round(rate),
        started_ms,
        sent: outcomes.len(),
        ok: accepted.len(),
        goodput: round(accepted.len() as f64 / duration.as_secs_f64()),
        codes,
        accepted_ms: percentiles(&accepted),
        refused_ms: percentiles(&refused),
        cancels,
        p99_by_second: by_second
            .iter()
            .map(|v| percentiles(v).map(|p| p.p99))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::recovered_after;

    #[test]
    fn recovery_is_the_first_second_after_which_p99_stays_within_bound() {
        let series = [
            Some(900.0),
            Some(80.0),
            Some(300.0),
            Some(40.0),
            None,
            Some(30.0),
        ];
        assert_eq!(recovered_after(&series, 100.0), Some(4));
        assert_eq!(recovered_after(&[Some(10.0)], 100.0), Some(1));
        assert_eq!(recovered_after(&[Some(500.0)], 100.0), None);
    }
}
