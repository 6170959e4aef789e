//! Propagation beside a load that loadgen does not generate (siege's): an order of its own every
//! so often, each followed to mypage.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::gateway::{Gateway, OrderTemplate};
use crate::propagation::{Propagation, PropagationReport};

#[derive(Serialize)]
pub struct ProbeReport {
    pub placed: usize,
    pub failed: usize,
    pub propagation: PropagationReport,
}

pub async fn run(
    gateway: &Gateway,
    template: &OrderTemplate,
    run: &str,
    duration: Duration,
    every: Duration,
) -> anyhow::Result<ProbeReport> {
    let customer = format!("bench-probe-{run}");
    let token = gateway.dev_token(&customer, "customer").await?;
    let propagation = Propagation::new(gateway.clone());
    let (mut placed, mut failed) = (0, 0);
    let started = Instant::now();
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while started.elapsed() < duration {
        ticks.tick().await;
        let key = uuid::Uuid::new_v4().to_string();
        match gateway
            .place_order(&token, &key, template, &format!("Seoul-probe-{run}"))
            .await
        {
            Ok(answer) if answer.status == 201 => {
                if let Some(id) = answer.order_id {
                    propagation.follow(token.clone(), id, Instant::now());
                }
                placed += 1;
            }
            _ => failed += 1,
        }
    }
    Ok(ProbeReport {
        placed,
        failed,
        propagation: propagation.finish().await,
    })
}
