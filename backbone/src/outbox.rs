//! Writing events to the outbox, inside the caller's transaction, and waking the relay once
//! that transaction has committed.
//!
//! The relay runs in the same process as the code that writes the events, so the wake-up is a
//! `tokio::sync::watch` channel, not a database notification: `NOTIFY` would serialize every commit
//! that wrote an event behind the previous one's WAL flush (see the migration that dropped it).
//! Rows written by another process (another replica) are found by the relay's poll, or when
//! this process next writes.

use std::sync::LazyLock;

use shared_events::Envelope;
use sqlx::{PgConnection, Postgres, Transaction};
use tokio::sync::watch;

use service_runtime::trace;

/// Adds `envelope` to the outbox as part of the caller's transaction: it is published if and
/// only if that transaction commits.
#[tracing::instrument(name = "outbox", skip_all, fields(event.id = %envelope.id, event.type = envelope.type_name()))]
pub async fn enqueue(conn: &mut PgConnection, envelope: &Envelope) -> sqlx::Result<()> {
    // The event continues the current work's trace: its publish and its consumers' work too.
    let traceparent = trace::current();
    sqlx::query(
        "insert into outbox (event_id, topic, message_key, event_type, payload, traceparent)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(envelope.id)
    .bind(envelope.event.topic().base_name())
    .bind(envelope.key())
    .bind(envelope.type_name())
    .bind(envelope.to_json())
    .bind(traceparent)
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds several events, in order.
pub async fn enqueue_all(conn: &mut PgConnection, envelopes: &[Envelope]) -> sqlx::Result<()> {
    for envelope in envelopes {
        enqueue(conn, envelope).await?;
    }
    Ok(())
}

static COMMITS: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);

/// Commits `tx`, which wrote events, and wakes the relay to publish them. Use it instead of
/// `tx.commit()` for every transaction that called [`enqueue`]; one that does not is
/// published at the relay's next poll.
pub async fn commit(tx: Transaction<'_, Postgres>) -> sqlx::Result<()> {
    tx.commit().await?;
    committed();
    Ok(())
}

/// Tells whoever waits on [`commits`] in this process that a transaction which wrote rows for
/// them (outbox rows for the relay; rows another background task sends on) has committed.
pub(crate) fn committed() {
    COMMITS.send_modify(|n| *n = n.wrapping_add(1));
}

/// Changes after every [`committed`]: `changed().await` wakes a background task that polls
/// rows written by this process's transactions. Each receiver sees every commit made since it
/// last looked, so no wake-up is lost between two looks.
pub fn commits() -> watch::Receiver<u64> {
    COMMITS.subscribe()
}
