//! One order's life as its customer, owner and rider live it: each step retried as a client
//! would until the system answers definitely, and recorded in the ledger when acknowledged (or
//! as a doubt when the answers never said whether it was applied).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use service_runtime::retry::Backoff;

use super::{Ctx, Fate, ack, order_body};
use crate::api::Answer;
use crate::ledger::{Line, Step, now_ms};

/// How a step ended.
enum StepEnd {
    Acked,
    /// A definite refusal (a 4xx other than 404/429): the step was not applied.
    Refused,
    /// Given up without knowing whether it was applied.
    Doubt,
    /// Given up; every answer said it was not applied.
    GaveUp,
}

/// One order's life, as far as the system lets it go.
pub(super) async fn life(ctx: Arc<Ctx>, customer: (String, String), key: String, fate: Fate) {
    let (customer_id, token) = (&customer.0, customer.1.as_str());
    let order = match place(&ctx, customer_id, token, &key).await {
        Some(order) => order,
        None => return,
    };
    let owner = ctx.owner.as_str();
    let mut plan: Vec<(Step, String, &'static str, Option<Value>)> = Vec::new();
    let store = |step: &str| format!("/store-orders/{order}/{step}");
    match fate {
        Fate::CancelEarly => {
            plan.push((
                Step::Canceled,
                format!("/orders/{order}/cancel"),
                "customer",
                None,
            ));
        }
        Fate::Reject => plan.push((
            Step::Rejected,
            store("reject"),
            "owner",
            Some(json!({ "reason": "sold out" })),
        )),
        Fate::CancelAfterAccept => {
            plan.push((Step::Accepted, store("accept"), "owner", None));
            plan.push((
                Step::Canceled,
                format!("/orders/{order}/cancel"),
                "customer",
                None,
            ));
        }
        Fate::Deliver | Fate::Accident => {
            plan.push((Step::Accepted, store("accept"), "owner", None));
            plan.push((Step::Cooking, store("start-cooking"), "owner", None));
            plan.push((Step::Cooked, store("finish-cooking"), "owner", None));
        }
    }
    for (step, path, who, body) in plan {
        tokio::time::sleep(ctx.plan.think).await;
        let token = if who == "owner" { owner } else { token };
        if !run_step(&ctx, &order, customer_id, step, &path, token, body).await {
            return;
        }
    }
    if matches!(fate, Fate::Deliver | Fate::Accident) {
        tokio::time::sleep(ctx.plan.think).await;
        let Some(delivery) = find_delivery(&ctx, &order).await else {
            return;
        };
        let (step, path, body) = if fate == Fate::Deliver {
            (
                Step::Delivered,
                format!("/deliveries/{delivery}/complete"),
                None,
            )
        } else {
            (
                Step::Accident,
                format!("/deliveries/{delivery}/accident"),
                Some(json!({ "reason": "a flat tyre" })),
            )
        };
        let rider = ctx.rider.clone();
        run_step(&ctx, &order, customer_id, step, &path, &rider, body).await;
    }
}

/// Places an order, retrying under the same idempotency key until a definite answer.
async fn place(ctx: &Ctx, customer: &str, token: &str, key: &str) -> Option<String> {
    let body = order_body(ctx);
    let deadline = Instant::now() + ctx.plan.step_timeout;
    let backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(2));
    let mut retries = 0;
    let mut first = true;
    loop {
        let answer = attempt(
            ctx,
            "place",
            first,
            Method::POST,
            "/orders",
            token,
            Some(body.clone()),
            Some(key),
        )
        .await;
        first = false;
        match answer.status {
            201 => {
                let id = answer.body["id"].as_str()?.to_owned();
                ctx.acked.fetch_add(1, Ordering::Relaxed);
                ack(ctx, &id, customer, Step::Placed);
                return Some(id);
            }
            402 => {
                ctx.declined.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            400 | 401 | 403 | 413 | 422 => {
                eprintln!(
                    "chaos: an order was refused {}: {}",
                    answer.status, answer.body
                );
                return None;
            }
            _ => {}
        }
        if Instant::now() >= deadline {
            ctx.unanswered.fetch_add(1, Ordering::Relaxed);
            ctx.ledger.write(&Line::Unanswered {
                customer: customer.to_owned(),
                idempotency_key: key.to_owned(),
                at_ms: now_ms(),
            });
            return None;
        }
        retries += 1;
        tokio::time::sleep(backoff.delay(retries)).await;
    }
}

/// Runs one step to its end and records it; whether the order's life goes on.
async fn run_step(
    ctx: &Ctx,
    order: &str,
    customer: &str,
    step: Step,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> bool {
    match step_call(ctx, step, path, token, body).await {
        StepEnd::Acked => {
            ack(ctx, order, customer, step);
            true
        }
        StepEnd::Doubt => {
            ctx.ledger.write(&Line::Doubt {
                order: order.to_owned(),
                step,
                at_ms: now_ms(),
            });
            false
        }
        StepEnd::Refused | StepEnd::GaveUp => false,
    }
}

async fn step_call(ctx: &Ctx, step: Step, path: &str, token: &str, body: Option<Value>) -> StepEnd {
    let op = format!("{step:?}").to_lowercase();
    let deadline = Instant::now() + ctx.plan.step_timeout;
    let backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(2));
    let mut retries = 0;
    let mut uncertain = false;
    let mut first = true;
    loop {
        let answer = attempt(
            ctx,
            &op,
            first,
            Method::POST,
            path,
            token,
            body.clone(),
            None,
        )
        .await;
        first = false;
        match answer.status {
            200..=299 => return StepEnd::Acked,
            // Not there yet (the store order or delivery is an event away), or refused
            // before anything was done.
            404 | 429 | 503 => {}
            0 if answer.unreached => {}
            // After an attempt whose fate is unknown, a conflict may be that attempt's doing.
            409 if uncertain => return StepEnd::Doubt,
            400..=499 => {
                eprintln!("chaos: {op} refused {}: {}", answer.status, answer.body);
                return StepEnd::Refused;
            }
            _ => uncertain = true,
        }
        if Instant::now() >= deadline {
            return if uncertain {
                StepEnd::Doubt
            } else {
                StepEnd::GaveUp
            };
        }
        retries += 1;
        tokio::time::sleep(backoff.delay(retries)).await;
    }
}

/// The delivery that started by itself once cooking finished.
async fn find_delivery(ctx: &Ctx, order: &str) -> Option<String> {
    let deadline = Instant::now() + ctx.plan.step_timeout;
    let mut first = true;
    // Backing off as the other steps do: thousands of orders waiting at once for a delivery
    // (its consumer behind) must not poll the rider's rate limit away.
    let backoff = Backoff::new(Duration::from_millis(300), Duration::from_secs(2));
    let mut retries = 0;
    loop {
        let path = format!("/deliveries?orderId={order}");
        let answer = attempt(
            ctx,
            "find-delivery",
            first,
            Method::GET,
            &path,
            &ctx.rider,
            None,
            None,
        )
        .await;
        first = false;
        let started = answer.body.as_array().and_then(|list| {
            list.iter()
                .find(|d| d["status"] == "Started")
                .and_then(|d| d["id"].as_str())
        });
        if let Some(id) = started {
            return Some(id.to_owned());
        }
        if Instant::now() >= deadline {
            eprintln!("chaos: no delivery started for order {order}");
            return None;
        }
        retries += 1;
        tokio::time::sleep(backoff.delay(retries)).await;
    }
}

#[allow(clippy::too_many_arguments)]
async fn attempt(
    ctx: &Ctx,
    op: &str,
    first: bool,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
    key: Option<&str>,
) -> Answer {
    let _permit = ctx.permits.acquire().await;
    let at_ms = now_ms();
    let answer = ctx.api.send(method, path, Some(token), body, key).await;
    ctx.ledger.write(&Line::Request {
        op: op.to_owned(),
        status: answer.status,
        at_ms,
        latency_ms: answer.latency.as_millis() as u64,
        first,
        code: (!answer.ok())
            .then(|| answer.body["code"].as_str().map(str::to_owned))
            .flatten(),
    });
    answer
}
