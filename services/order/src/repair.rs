//! Re-drives orders left PaymentPending by a crash between the payment call and the answer
//! being recorded: at start-up and periodically, with the same idempotency key (the order id),
//! so the payment service answers with the payment it already made, if any.

use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::db;
use crate::orders::{Orders, Placement};

/// | variable | default | meaning |
/// |---|---|---|
/// | `ORDER_REPAIR_INTERVAL_MS` | `10000` | how often to look for stuck orders |
/// | `ORDER_REPAIR_AFTER_MS` | `30000` | a PaymentPending order older than this is stuck |
/// | `ORDER_REPAIR_GIVE_UP_MS` | `300000` | after this, a still unanswered payment fails the order |
#[derive(Debug, Clone, Copy)]
pub struct RepairSettings {
    pub interval: Duration,
    pub stuck_after: Duration,
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
    let now = Utc::now();
    let stuck_before = now - chrono::Duration::from_std(settings.stuck_after)?;
    let give_up_before = now - chrono::Duration::from_std(settings.give_up_after)?;
    let mut settled = 0;
    for order in db::pending_since(orders.pool(), stuck_before).await? {
        let (id, give_up) = (order.id, order.created_at < give_up_before);
        match orders.settle(order, give_up).await? {
            Placement::InProgress(_) => {
                tracing::info!(order.id = %id, "payment still unavailable; will retry")
            }
            _ => settled += 1,
        }
    }
    if settled > 0 {
        tracing::info!(settled, "stuck orders re-driven");
    }
    Ok(settled)
}
