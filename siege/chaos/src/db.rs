//! Reading each owner's database: the order, payment, store, delivery and notification
//! services' own tables, as their migrations define them. Read only.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use crate::accounting::Truth;

pub struct Databases {
    order: PgPool,
    payment: PgPool,
    store: PgPool,
    delivery: PgPool,
    notification: PgPool,
}

/// An order the ledger does not hold as acknowledged, as the order service has it.
pub struct Unacknowledged {
    pub id: Uuid,
    pub status: String,
    pub idempotency_key: Option<String>,
    /// The payment's status, if there is one.
    pub payment: Option<String>,
}

fn pool(server: &str, name: &str) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(10))
        .connect_lazy(&format!("{}/{name}", server.trim_end_matches('/')))
        .with_context(|| format!("bad database URL for {name}"))
}

impl Databases {
    /// `server`: the PostgreSQL server's URL without a database; each service's is `<server>/<name>`.
    pub fn connect(server: &str) -> anyhow::Result<Self> {
        Ok(Self {
            order: pool(server, "order")?,
            payment: pool(server, "payment")?,
            store: pool(server, "store")?,
            delivery: pool(server, "delivery")?,
            notification: pool(server, "notification")?,
        })
    }

    /// The truth about `orders` (of `customers`), without the outbox counts.
    pub async fn truths(
        &self,
        orders: &[Uuid],
        customers: &[String],
    ) -> anyhow::Result<HashMap<Uuid, Truth>> {
        let mut truths: HashMap<Uuid, Truth> =
            orders.iter().map(|id| (*id, Truth::default())).collect();
        let rows: Vec<(Uuid, String, Option<String>)> = sqlx::query_as(
            "select id, status, cancel_reason from customer_order where id = any($1)",
        )
        .bind(orders)
        .fetch_all(&self.order)
        .await
        .context("cannot read the order database")?;
        for (id, status, reason) in rows {
            if let Some(t) = truths.get_mut(&id) {
                t.order = Some((status, reason));
            }
        }
        let by_order = "where order_id = any($1)";
        for (pool, table, slot) in [
            (&self.payment, "payment", 0),
            (&self.store, "store_order", 1),
            (&self.delivery, "delivery", 2),
        ] {
            let rows: Vec<(Uuid, String)> = sqlx::query_as(&format!(
                "select order_id, status from {table} {by_order} order by created_at"
            ))
            .bind(orders)
            .fetch_all(pool)
            .await
            .with_context(|| format!("cannot read the {table} table"))?;
            for (id, status) in rows {
                if let Some(t) = truths.get_mut(&id) {
                    match slot {
                        0 => t.payments.push(status),
                        1 => t.store_orders.push(status),
                        _ => t.deliveries.push(status),
                    }
                }
            }
        }
        // By customer: the notification table's index. The customers' own notifications only:
        // the store owner's about the same order (placed, canceled, an accident) are theirs.
        let rows: Vec<(Uuid, String)> = sqlx::query_as(
            "select order_id, event_type from notification \
             where customer_id = any($1) and recipient = 'Customer'",
        )
        .bind(customers)
        .fetch_all(&self.notification)
        .await
        .context("cannot read the notification database")?;
        for (id, kind) in rows {
            if let Some(t) = truths.get_mut(&id) {
                t.notifications.push(kind);
            }
        }
        Ok(truths)
    }

    /// Outbox rows per order and event type, over every service's outbox: an event written
    /// twice for one order is a duplicate effect even before anyone consumes it.
    pub async fn events(
        &self,
        orders: &[Uuid],
    ) -> anyhow::Result<HashMap<Uuid, BTreeMap<String, i64>>> {
        let keys: Vec<String> = orders.iter().map(Uuid::to_string).collect();
        let mut events: HashMap<Uuid, BTreeMap<String, i64>> = HashMap::new();
        for pool in [&self.order, &self.payment, &self.store, &self.delivery] {
            let rows: Vec<(String, String, i64)> = sqlx::query_as(
                "select message_key, event_type, count(*) from outbox
                 where message_key = any($1) group by 1, 2",
            )
            .bind(&keys)
            .fetch_all(pool)
            .await
            .context("cannot read an outbox")?;
            for (key, kind, count) in rows {
                if let Ok(id) = key.parse() {
                    *events.entry(id).or_default().entry(kind).or_insert(0) += count;
                }
            }
        }
        Ok(events)
    }

    /// The customers' orders that are not among `acknowledged`, with their payments.
    pub async fn unacknowledged(
        &self,
        customers: &[String],
        acknowledged: &[Uuid],
    ) -> anyhow::Result<Vec<Unacknowledged>> {
        let rows: Vec<(Uuid, String, Option<String>)> = sqlx::query_as(
            "select id, status, idempotency_key from customer_order
             where customer_id = any($1) and not (id = any($2))",
        )
        .bind(customers)
        .bind(acknowledged)
        .fetch_all(&self.order)
        .await
        .context("cannot read the order database")?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
        let payments: HashMap<Uuid, String> =
            sqlx::query_as("select order_id, status from payment where order_id = any($1)")
                .bind(&ids)
                .fetch_all(&self.payment)
                .await
                .context("cannot read the payment database")?
                .into_iter()
                .collect();
        Ok(rows
            .into_iter()
            .map(|(id, status, idempotency_key)| Unacknowledged {
                payment: payments.get(&id).cloned(),
                id,
                status,
                idempotency_key,
            })
            .collect())
    }
}
