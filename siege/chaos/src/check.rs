//! The checker: once the load and the faults are over, reads every owner's database and the
//! mypage view until they agree with the ledger (or a quiet period runs out), then prints the
//! scenario's accounting and says whether every promise was kept.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use reqwest::Method;
use serde::Serialize;
use uuid::Uuid;

use crate::accounting::{Finding, INVALID, Tally, Truth, View, audit, compare_view};
use crate::api::Api;
use crate::db::Databases;
use crate::expect::{Outcome, candidates};
use crate::kafka::{DeadLetter, dead_letters_since};
use crate::ledger::{Book, Line, now_ms, read};
use crate::requests::{Faults, RequestStats};

pub struct Check {
    pub scenario: String,
    pub ledger: PathBuf,
    pub database_server: String,
    pub gateway: String,
    pub brokers: Option<String>,
    pub quiet_timeout: Duration,
    pub faults: Option<PathBuf>,
    /// Poison messages sent (R6): each must be dead-lettered by every consumer of its topic.
    pub poison_sent: Option<usize>,
    pub out: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub scenario: String,
    pub tally: Tally,
    /// Orders never acknowledged that the order service has, by status.
    pub unacknowledged: BTreeMap<String, usize>,
    /// Approved payments of orders that never became valid: charged for nothing.
    pub charged_without_order: usize,
    pub dead_letters: usize,
    pub poison_dead_letters: usize,
    pub poison_problem: Option<String>,
    pub requests: RequestStats,
    /// From the end of the last fault until the last failed request (None: no fault).
    pub errors_stop_s: Option<f64>,
    /// The same until the last failed request that was not admission control's refusal.
    pub faults_stop_s: Option<f64>,
    /// From the end of the load (or of the last fault, if later) until every order agreed.
    pub settled_s: Option<f64>,
    pub examples: Vec<(String, Vec<Finding>)>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.tally.clean() && self.charged_without_order == 0 && self.poison_problem.is_none()
    }
}

pub async fn check(check: Check) -> anyhow::Result<Report> {
    let book = Book::gather(read(&check.ledger)?);
    let Some(Line::Run {
        customers,
        dlq_offsets,
        ..
    }) = book.run.clone()
    else {
        anyhow::bail!("the ledger has no run line: did the driver start?");
    };
    let faults = match &check.faults {
        Some(path) => Faults::read(path)?,
        None => Faults::default(),
    };
    let requests = RequestStats::of(&book.requests);
    let dbs = Databases::connect(&check.database_server)?;
    let api = Api::new(&check.gateway, Duration::from_secs(10))?;
    let mut tokens = HashMap::new();
    for customer in &customers {
        tokens.insert(customer.clone(), api.token(customer, "customer").await?);
    }

    let mut orders: Vec<(Uuid, String, Vec<Outcome>)> = Vec::new();
    for (id, record) in &book.orders {
        let id: Uuid = id.parse().context("an order id in the ledger is no uuid")?;
        let all = candidates(record).map_err(|e| anyhow::anyhow!("order {id}: {e}"))?;
        orders.push((id, record.customer.clone(), all));
    }
    let ids: Vec<Uuid> = orders.iter().map(|o| o.0).collect();
    let load_over = book
        .ended_ms
        .unwrap_or_else(now_ms)
        .max(faults.last_end_ms().unwrap_or(0));

    // Until the owners' databases and the view agree with the ledger, or the quiet period ends.
    let deadline = Instant::now() + check.quiet_timeout;
    let mut views: HashMap<Uuid, Option<View>> = HashMap::new();
    let mut settled_at = None;
    let (truths, findings) = loop {
        let truths = match dbs.truths(&ids, &customers).await {
            Ok(t) => t,
            Err(e) if Instant::now() < deadline => {
                eprintln!("chaos: {e:#}; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let mut findings: HashMap<Uuid, Vec<Finding>> = HashMap::new();
        let mut stale_views = Vec::new();
        for (id, customer, all) in &orders {
            let truth = &truths[id];
            let mut found = audit(all, truth);
            if !found.iter().any(Finding::may_settle) {
                match views.get(id) {
                    Some(view) if compare_view(truth, view.as_ref()).is_empty() => {}
                    _ => stale_views.push((*id, customer.clone())),
                }
            }
            found.retain(|f| !matches!(f, Finding::ViewDiffers { .. }));
            findings.insert(*id, found);
        }
        // The view is read only for orders whose owners agree, and again only while it differs.
        let fetched = fetch_views(&api, &tokens, &stale_views).await;
        for (id, view) in fetched {
            views.insert(id, view);
        }
        for (id, _, _) in &orders {
            let truth = &truths[id];
            if findings[id].iter().any(Finding::may_settle) {
                continue;
            }
            let view_findings = compare_view(truth, views.get(id).and_then(Option::as_ref));
            if let Some(f) = findings.get_mut(id) {
                f.extend(view_findings);
            }
        }
        let pending = findings
            .values()
            .filter(|f| f.iter().any(Finding::may_settle))
            .count();
        if pending == 0 {
            settled_at = Some(now_ms());
            break (truths, findings);
        }
        if Instant::now() >= deadline {
            eprintln!("chaos: {pending} orders still differ at the end of the quiet period");
            break (truths, findings);
        }
        eprintln!("chaos: {pending} orders not settled yet");
        tokio::time::sleep(Duration::from_secs(2)).await;
    };

    // Duplicate events, once everything is written.
    let events = dbs.events(&ids).await?;
    let mut tally = Tally {
        acknowledged: orders.len(),
        ..Tally::default()
    };
    let mut examples = Vec::new();
    for (id, _, all) in &orders {
        let mut truth: Truth = truths[id].clone();
        truth.events = events.get(id).cloned().unwrap_or_default();
        let mut found: Vec<Finding> = audit(all, &truth)
            .into_iter()
            .filter(|f| !matches!(f, Finding::ViewDiffers { .. }))
            .collect();
        // View findings as last seen (duplicates in its history included).
        found.extend(
            findings[id]
                .iter()
                .filter(|f| {
                    matches!(f, Finding::ViewDiffers { .. })
                        || matches!(f, Finding::Duplicate { effect, .. } if effect.starts_with("view"))
                })
                .cloned(),
        );
        tally.add_truth(&truth);
        tally.add_findings(&found);
        if !found.is_empty() && examples.len() < 10 {
            examples.push((id.to_string(), found));
        }
    }

    let acknowledged: Vec<Uuid> = ids.clone();
    let others = dbs.unacknowledged(&customers, &acknowledged).await?;
    let mut unacknowledged = BTreeMap::new();
    let mut charged_without_order = 0;
    for order in &others {
        *unacknowledged.entry(order.status.clone()).or_insert(0) += 1;
        if INVALID.contains(&order.status.as_str()) && order.payment.as_deref() == Some("Approved")
        {
            charged_without_order += 1;
            if examples.len() < 10 {
                examples.push((
                    order.id.to_string(),
                    vec![Finding::Differs {
                        what: "payment of an order never placed".into(),
                        expected: "none or Refunded".into(),
                        actual: "Approved".into(),
                    }],
                ));
            }
        }
    }
    let unanswered_keys: HashSet<&str> = book.unanswered.iter().map(|(_, k)| k.as_str()).collect();
    let placed_unanswered = others
        .iter()
        .filter(|o| {
            !INVALID.contains(&o.status.as_str())
                && o.idempotency_key
                    .as_deref()
                    .is_some_and(|k| unanswered_keys.contains(k))
        })
        .count();
    if placed_unanswered > 0 {
        unacknowledged.insert("valid, answer never received".into(), placed_unanswered);
    }

    let letters: Vec<DeadLetter> = match &check.brokers {
        Some(brokers) => dead_letters_since(brokers, dlq_offsets).await?,
        None => Vec::new(),
    };
    let poison_letters: Vec<&DeadLetter> = letters.iter().filter(|l| l.poison).collect();
    let poison_problem = check
        .poison_sent
        .and_then(|sent| poison_problem(sent, &poison_letters));

    let since_fault = |last: Option<u64>| {
        faults
            .last_end_ms()
            .map(|end| last.map_or(0.0, |last| (last.saturating_sub(end)) as f64 / 1000.0))
    };
    let errors_stop_s = since_fault(requests.last_failure_ms);
    let faults_stop_s = since_fault(requests.last_fault_ms);
    let report = Report {
        scenario: check.scenario.clone(),
        tally,
        unacknowledged,
        charged_without_order,
        dead_letters: letters.len(),
        poison_dead_letters: poison_letters.len(),
        poison_problem,
        requests,
        errors_stop_s,
        faults_stop_s,
        settled_s: settled_at.map(|at| at.saturating_sub(load_over) as f64 / 1000.0),
        examples,
    };
    if let Some(out) = &check.out {
        std::fs::write(out, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    Ok(report)
}

/// Whether each poison message was dead-lettered exactly once by each consumer of its topic.
fn poison_problem(sent: usize, letters: &[&DeadLetter]) -> Option<String> {
    let mut per_message: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut consumers_of: HashMap<&str, HashSet<&str>> = HashMap::new();
    for letter in letters {
        per_message
            .entry(letter.key.as_str())
            .or_default()
            .push(letter.consumer.as_str());
        consumers_of
            .entry(letter.topic.as_str())
            .or_default()
            .insert(letter.consumer.as_str());
    }
    if per_message.len() != sent {
        return Some(format!(
            "{} of {sent} poison messages were dead-lettered",
            per_message.len()
        ));
    }
    let twice = per_message
        .values()
        .filter(|consumers| {
            let unique: HashSet<_> = consumers.iter().collect();
            unique.len() != consumers.len()
        })
        .count();
    if twice > 0 {
        return Some(format!(
            "{twice} poison messages were dead-lettered twice by one consumer"
        ));
    }
    let partial = letters
        .iter()
        .filter(|l| per_message[l.key.as_str()].len() != consumers_of[l.topic.as_str()].len())
        .count();
    (partial > 0)
        .then(|| format!("{partial} poison messages missed by some consumer of their topic"))
}

async fn fetch_views(
    api: &Api,
    tokens: &HashMap<String, String>,
    orders: &[(Uuid, String)],
) -> Vec<(Uuid, Option<View>)> {
    futures::stream::iter(orders.iter().cloned())
        .map(|(id, customer)| async move {
            let token = tokens.get(&customer).map(String::as_str);
            let answer = api
                .send(
                    Method::GET,
                    &format!("/mypage/orders/{id}"),
                    token,
                    None,
                    None,
                )
                .await;
            let view = answer.ok().then(|| parse_view(&answer.body));
            (id, view)
        })
        .buffer_unordered(16)
        .collect()
        .await
}

fn parse_view(body: &serde_json::Value) -> View {
    let text = |field: &str| body[field].as_str().map(str::to_owned);
    View {
        order_status: text("orderStatus"),
        cancel_reason: text("cancelReason"),
        payment: text("paymentStatus"),
        store: text("storeStatus"),
        delivery: text("deliveryStatus"),
        history: body["history"]
            .as_array()
            .map(|h| {
                h.iter()
                    .filter_map(|e| e["eventType"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The report as the suite prints it.
pub fn print(report: &Report) {
    let t = &report.tally;
    let dup = if t.duplicates.is_empty() {
        "0".to_owned()
    } else {
        format!("{} ({:?})", t.duplicate_total(), t.duplicates)
    };
    let opt = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |s| format!("{s:.1} s"));
    let r = &report.requests;
    println!(
        "---- chaos {}: {}",
        report.scenario,
        if report.passed() { "PASSED" } else { "FAILED" }
    );
    println!(
        "  orders acknowledged / found / lost   {} / {} / {}",
        t.acknowledged, t.found, t.lost
    );
    println!(
        "  effects not as expected             {} orders",
        t.differing
    );
    println!(
        "  effects                             payments approved {}, refunds {}, store orders {}, deliveries {}, notifications {}",
        t.payments_approved, t.refunds, t.store_orders, t.deliveries, t.notifications
    );
    println!("  duplicate effects                   {dup}");
    println!(
        "  mypage views differing from truth   {}",
        t.view_differences
    );
    println!(
        "  orders never acknowledged           {:?}",
        report.unacknowledged
    );
    println!(
        "  charged without an order            {}",
        report.charged_without_order
    );
    println!(
        "  dead letters                        {} ({} of them poison{})",
        report.dead_letters,
        report.poison_dead_letters,
        report
            .poison_problem
            .as_ref()
            .map(|p| format!(": {p}"))
            .unwrap_or_default()
    );
    println!(
        "  requests                            {} sent, {} failed (5xx, 429, no answer), availability {:.3} %; orders: first tries 2xx {:.2} %, p50 {} ms, p99 {} ms, max {} ms",
        r.sent,
        r.failed,
        r.availability_pct,
        r.place_first_ok_pct,
        r.place_p50_ms,
        r.place_p99_ms,
        r.place_max_ms
    );
    println!("  by status                           {:?}", r.by_status);
    println!(
        "  errors stop after the fault         {} (refusals aside: {})   all settled after the load   {}",
        opt(report.errors_stop_s),
        opt(report.faults_stop_s),
        opt(report.settled_s)
    );
    for (id, findings) in &report.examples {
        println!("  e.g. {id}: {findings:?}");
    }
}
