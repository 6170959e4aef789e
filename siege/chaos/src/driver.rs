//! The load driver: places orders at a fixed rate through the gateway and takes each through
//! its life as its owner, rider and customer would (accept → cook → deliver, with some customer
//! cancels, store rejections and delivery accidents), retrying what the system refused as a
//! client would, and writes every request and every acknowledged step to the ledger.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::api::Api;
use crate::ledger::{Line, Step, Writer, now_ms};

mod life;
use life::life;

pub struct Plan {
    pub scenario: String,
    pub orders: usize,
    /// Orders a second.
    pub rate: f64,
    pub customers: usize,
    pub seed: u64,
    /// Shares in per cent of orders the customer cancels, the store rejects, the rider reports
    /// an accident for; the rest are delivered.
    pub cancel_pct: u32,
    pub reject_pct: u32,
    pub accident_pct: u32,
    /// How long one step is retried before the driver gives up on it.
    pub step_timeout: Duration,
    /// Pause between an order's steps.
    pub think: Duration,
    /// Requests in flight at most.
    pub concurrency: usize,
    pub brokers: Option<String>,
}

/// What becomes of an order, as the driver plays it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Deliver,
    CancelEarly,
    CancelAfterAccept,
    Reject,
    Accident,
}

impl Fate {
    /// The fate for a draw in 0..100.
    pub fn pick(draw: u32, plan: &Plan) -> Fate {
        let cancel = plan.cancel_pct;
        let reject = cancel + plan.reject_pct;
        let accident = reject + plan.accident_pct;
        match draw {
            d if d < cancel / 2 => Fate::CancelEarly,
            d if d < cancel => Fate::CancelAfterAccept,
            d if d < reject => Fate::Reject,
            d if d < accident => Fate::Accident,
            _ => Fate::Deliver,
        }
    }
}

struct Ctx {
    api: Api,
    ledger: Arc<Writer>,
    plan: Plan,
    owner: String,
    rider: String,
    store_id: String,
    menu_items: Vec<String>,
    permits: Semaphore,
    acked: AtomicUsize,
    declined: AtomicUsize,
    unanswered: AtomicUsize,
}

pub async fn drive(api: Api, plan: Plan, ledger: Arc<Writer>) -> anyhow::Result<()> {
    let run = format!("{}-{}", plan.scenario, now_ms());
    let owner = api.token(&format!("chaos-owner-{run}"), "owner").await?;
    let rider = api.token(&format!("chaos-rider-{run}"), "rider").await?;
    let mut customers = Vec::new();
    for n in 0..plan.customers.max(1) {
        let id = format!("chaos-{run}-c{n}");
        let token = api.token(&id, "customer").await?;
        customers.push((id, token));
    }
    let store_id = setup_call(
        &api,
        "/stores",
        &owner,
        json!({ "name": format!("Chaos Kitchen {run}") }),
    )
    .await?;
    let mut menu_items = Vec::new();
    for (name, price) in [("Fried chicken", 18_000), ("Cola", 2_000)] {
        let path = format!("/stores/{store_id}/menu");
        menu_items
            .push(setup_call(&api, &path, &owner, json!({ "name": name, "price": price })).await?);
    }
    let dlq_offsets = match &plan.brokers {
        Some(brokers) => crate::kafka::dead_letter_ends(brokers).await?,
        None => BTreeMap::new(),
    };
    ledger.write(&Line::Run {
        run: run.clone(),
        store_id: store_id.clone(),
        menu_items: menu_items.clone(),
        customers: customers.iter().map(|(id, _)| id.clone()).collect(),
        started_ms: now_ms(),
        dlq_offsets,
    });
    eprintln!(
        "chaos: run {run}: store {store_id}, {} customers; {} orders at {}/s",
        customers.len(),
        plan.orders,
        plan.rate
    );
    let ctx = Arc::new(Ctx {
        api,
        ledger: ledger.clone(),
        permits: Semaphore::new(plan.concurrency.max(1)),
        plan,
        owner,
        rider,
        store_id,
        menu_items,
        acked: AtomicUsize::new(0),
        declined: AtomicUsize::new(0),
        unanswered: AtomicUsize::new(0),
    });
    wait_for_menu(&ctx, &customers[0]).await?;

    let mut rng = StdRng::seed_from_u64(ctx.plan.seed);
    let started = Instant::now();
    let mut lives = JoinSet::new();
    let mut last_report = Instant::now();
    for n in 0..ctx.plan.orders {
        let due = started + Duration::from_secs_f64(n as f64 / ctx.plan.rate.max(0.01));
        tokio::time::sleep_until(due.into()).await;
        let fate = Fate::pick(rng.random_range(0..100), &ctx.plan);
        let customer = customers[n % customers.len()].clone();
        let key = format!("chaos-{run}-{n}");
        lives.spawn(life(ctx.clone(), customer, key, fate));
        while lives.try_join_next().is_some() {}
        if last_report.elapsed() > Duration::from_secs(10) {
            last_report = Instant::now();
            progress(&ctx, n + 1, lives.len());
        }
    }
    while lives.join_next().await.is_some() {
        if last_report.elapsed() > Duration::from_secs(10) {
            last_report = Instant::now();
            progress(&ctx, ctx.plan.orders, lives.len());
        }
    }
    ledger.write(&Line::End { ended_ms: now_ms() });
    ledger.flush()?;
    eprintln!(
        "chaos: load over after {:.0} s: {} orders acknowledged, {} declined, {} without a definite answer",
        started.elapsed().as_secs_f64(),
        ctx.acked.load(Ordering::Relaxed),
        ctx.declined.load(Ordering::Relaxed),
        ctx.unanswered.load(Ordering::Relaxed)
    );
    Ok(())
}

fn progress(ctx: &Ctx, sent: usize, alive: usize) {
    eprintln!(
        "chaos: {sent}/{} orders started, {} acknowledged, {alive} still in their life",
        ctx.plan.orders,
        ctx.acked.load(Ordering::Relaxed)
    );
}

/// A POST during setup, retried for a minute; the created resource's id.
async fn setup_call(api: &Api, path: &str, token: &str, body: Value) -> anyhow::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = api
            .send(Method::POST, path, Some(token), Some(body.clone()), None)
            .await;
        if let Some(id) = answer.body["id"].as_str().filter(|_| answer.ok()) {
            return Ok(id.to_owned());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "POST {path} answered {} (is `./dev up` running?)",
            answer.status
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Until the order service has learned the menu (an event away), an order is refused 422.
async fn wait_for_menu(ctx: &Arc<Ctx>, customer: &(String, String)) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let key = format!("chaos-menu-probe-{}", now_ms());
    loop {
        let answer = ctx
            .api
            .send(
                Method::POST,
                "/orders",
                Some(&customer.1),
                Some(order_body(ctx)),
                Some(&key),
            )
            .await;
        if answer.status == 201 {
            let id = answer.body["id"].as_str().context("an order without id")?;
            // A placed order like any other: in the ledger, and left as placed.
            ack(ctx, id, &customer.0, Step::Placed);
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the order service did not take an order within 60 s (last answer {})",
            answer.status
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn order_body(ctx: &Ctx) -> Value {
    let items: Vec<Value> = ctx
        .menu_items
        .iter()
        .map(|id| json!({ "menuItemId": id, "quantity": 1 }))
        .collect();
    json!({
        "storeId": ctx.store_id,
        "items": items,
        "deliveryAddress": "Seoul, Gangnam-gu",
    })
}

fn ack(ctx: &Ctx, order: &str, customer: &str, step: Step) {
    ctx.ledger.write(&Line::Ack {
        order: order.to_owned(),
        customer: customer.to_owned(),
        step,
        at_ms: now_ms(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan {
            scenario: "t".into(),
            orders: 1,
            rate: 1.0,
            customers: 1,
            seed: 1,
            cancel_pct: 10,
            reject_pct: 5,
            accident_pct: 3,
            step_timeout: Duration::from_secs(1),
            think: Duration::ZERO,
            concurrency: 1,
            brokers: None,
        }
    }

    #[test]
    fn fates_are_shared_out_by_the_plans_percentages() {
        let plan = plan();
        let fates: Vec<Fate> = (0..100).map(|d| Fate::pick(d, &plan)).collect();
        let count = |f: Fate| fates.iter().filter(|x| **x == f).count();
        assert_eq!(count(Fate::CancelEarly), 5);
        assert_eq!(count(Fate::CancelAfterAccept), 5);
        assert_eq!(count(Fate::Reject), 5);
        assert_eq!(count(Fate::Accident), 3);
        assert_eq!(count(Fate::Deliver), 82);
    }
}
