//! Writing events to the outbox, inside the caller's transaction.

use shared_events::Envelope;
use sqlx::PgConnection;

use service_runtime::trace::TraceParent;

/// Adds `envelope` to the outbox as part of the caller's transaction: it is published if and
/// only if that transaction commits.
#[tracing::instrument(skip_all, fields(event.id = %envelope.id, event.type = envelope.type_name()))]
pub async fn enqueue(conn: &mut PgConnection, envelope: &Envelope) -> sqlx::Result<()> {
    let traceparent = TraceParent::current_or_new().child_header();
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
