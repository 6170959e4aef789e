//! Re-drives orders left PaymentPending by an attempt that is over (a crash between the payment
//! call and the answer being recorded, or a payment left for later): at start-up, then every
//! `interval`, an order whose attempt's lease has run out (see [`crate::use_cases::Attempts`]) is
//! taken over and charged again with the same idempotency key (the order id), so the payment
//! service answers with the payment it already made, if any.

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::db;
use crate::use_cases::{Orders, Placement};

/// | variable | default | meaning |
/// |---|---|---|
/// | `ORDER_REPAIR_INTERVAL_MS` | `1000` | how often to look for abandoned orders |
/// | `ORDER_ATTEMPT_MARGIN_MS` | `1000` | an attempt's lease beyond the payment timeout |
/// | `ORDER_REPAIR_GIVE_UP_MS` | `300000` | after this, a still unanswered payment fails the order |
#[derive(Debug, Clone, Copy)]
pub struct RepairSettings {
    pub interval: Duration,
    pub margin: Duration,
    pub give_up_after: Duration,
}

pub async fn run(orders: Orders, settings: RepairSettings, shutdown: CancellationToken) {
    loop {
        if let Err(e) = repair_once(&orders, settings).await {
            tracing::warn!(error = %e, "payment repair round failed");
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(settings.interval) => {}
        }
    }
}

/// One round; returns how many orders it settled.
pub async fn repair_once(orders: &Orders, settings: RepairSettings) -> anyhow::Result<usize> {
    let give_up_before = Utc::now() - chrono::Duration::from_std(settings.give_up_after)?;
    let mut settled = 0;
    for order in db::abandoned(orders.pool()).await? {
        let (id, give_up) = (order.id, order.created_at < give_up_before);
        match orders.redrive(order, give_up).await? {
            None => {}
            Some(Placement::InProgress(_) | Placement::Refused(_)) => {
                tracing::info!(order.id = %id, "payment still unavailable; will retry")
            }
            Some(_) => settled += 1,
        }
    }
    if settled > 0 {
        tracing::info!(settled, "abandoned orders re-driven");
    }
    Ok(settled)
}
