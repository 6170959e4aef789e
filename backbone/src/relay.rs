//! The outbox relay: publishes committed outbox rows to Kafka, in order, and marks them sent.
//!
//! It wakes when a transaction of this process that wrote events commits
//! ([`crate::outbox::commit`]), so an event is on Kafka milliseconds after its transaction, and
//! polls as a safety net (rows written by another process). Under load it drains in batches.
//!
//! Several replicas of a service may run relays on the same database: a transaction-scoped
//! advisory lock lets one publish at a time, which keeps per-key order. A relay that finds the
//! lock taken looks again shortly: the other may have taken its batch before this process's
//! rows were committed.

use std::time::{Duration, Instant};

use anyhow::Context;
use futures::future::join_all;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use service_runtime::trace;
use shared_events::{Topic, Topics};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::outbox;

/// Any constant shared by all relays of one database.
const RELAY_LOCK: i64 = 0x6f75_7462_6f78; // "outbox"

/// How soon a relay that found another publishing looks again.
const NOT_LEADER_RETRY: Duration = Duration::from_millis(20);

/// What one turn of the relay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batch {
    /// Rows published (0: none were pending).
    Published(usize),
    /// Another relay on the same database was publishing.
    NotLeader,
}

pub struct Relay {
    pool: PgPool,
    producer: FutureProducer,
    topics: Topics,
    /// Rows per batch.
    pub batch_size: i64,
    /// How often to look for rows when this process committed none.
    pub poll_interval: Duration,
    /// How long published rows are kept (for inspection) before they are deleted.
    pub retention: Duration,
    /// How long inbox rows are kept: the window in which a redelivery is recognised.
    pub inbox_retention: Duration,
    /// Failed sends after which a row is parked instead of holding up the rows behind it.
    pub max_attempts: i32,
    /// Tests only (`OUTBOX_FAULT_FREEZE_AFTER_PUBLISH`): the relay stops dead once a batch is on
    /// Kafka and before it is marked published, as if the process were killed there; killing
    /// it then leaves published rows unmarked, which the next relay publishes again.
    pub freeze_after_publish: bool,
}

#[derive(sqlx::FromRow)]
struct Row {
    seq: i64,
    topic: String,
    message_key: String,
    event_type: String,
    event_id: uuid::Uuid,
    payload: String,
    traceparent: Option<String>,
}

impl Relay {
    pub fn new(pool: PgPool, producer: FutureProducer, topics: Topics) -> Self {
        Self {
            pool,
            producer,
            topics,
            batch_size: 200,
            poll_interval: Duration::from_millis(500),
            retention: Duration::from_secs(24 * 3600),
            inbox_retention: Duration::from_secs(14 * 24 * 3600),
            max_attempts: 10,
            freeze_after_publish: false,
        }
    }

    /// Runs until `shutdown`, then flushes the producer.
    pub fn spawn(self, shutdown: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(async move { self.run(shutdown).await })
    }

    async fn run(self, shutdown: CancellationToken) {
        let mut last_cleanup = Instant::now();
        let mut failures = 0u32;
        let mut commits = outbox::commits();
        loop {
            let mut wait = self.poll_interval;
            let drained = match self.publish_batch().await {
                Ok(Batch::Published(published)) => {
                    failures = 0;
                    published < self.batch_size as usize
                }
                Ok(Batch::NotLeader) => {
                    wait = NOT_LEADER_RETRY;
                    true
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(error = %format!("{e:#}"), failures, "outbox relay batch failed");
                    true
                }
            };
            if last_cleanup.elapsed() > Duration::from_secs(600) {
                last_cleanup = Instant::now();
                if let Err(e) = self.delete_old_rows().await {
                    tracing::warn!(error = %e, "outbox and inbox cleanup failed");
                }
            }
            if !drained {
                continue;
            }
            if failures > 0 {
                wait = Duration::from_millis(100 * 2u64.pow(failures.min(6)));
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = commits.changed(), if failures == 0 => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        // Publish what was committed before the signal, then flush.
        loop {
            match self.publish_batch().await {
                Ok(Batch::Published(published)) if published == self.batch_size as usize => {
                    continue;
                }
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "final outbox batch failed");
                    break;
                }
            }
        }
        let producer = self.producer.clone();
        let flushed = tokio::task::spawn_blocking(move || {
            producer.flush(Timeout::After(Duration::from_secs(10)))
        })
        .await;
        if !matches!(flushed, Ok(Ok(()))) {
            tracing::warn!("producer flush did not complete");
        }
        tracing::info!("outbox relay stopped");
    }

    /// Publishes up to `batch_size` pending rows; says how many were published.
    pub async fn publish_batch(&self) -> anyhow::Result<Batch> {
        let mut tx = self.pool.begin().await?;
        let leader: bool = sqlx::query_scalar("select pg_try_advisory_xact_lock($1)")
            .bind(RELAY_LOCK)
            .fetch_one(&mut *tx)
            .await?;
        if !leader {
            return Ok(Batch::NotLeader);
        }
        let rows: Vec<Row> = sqlx::query_as(
            "select seq, topic, message_key, event_type, event_id, payload::text as payload, traceparent
             from outbox where published_at is null and parked_at is null order by seq limit $1",
        )
        .bind(self.batch_size)
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(Batch::Published(0));
        }
        let sends = rows.iter().map(|row| self.send(row));
        let outcomes = join_all(sends).await;
        if self.freeze_after_publish {
            tracing::error!(
                rows = rows.len(),
                "fault point: outbox relay frozen after publishing, before marking"
            );
            std::future::pending::<()>().await;
        }
        // Only the rows before the first failure count as published: a later event of the same
        // order must not be marked while an earlier one is still to be sent. (It may be on Kafka
        // already; it is then sent again after the earlier one, and consumers drop duplicates.)
        let mut published = Vec::with_capacity(rows.len());
        let mut failed = Vec::new();
        let mut first_error = None;
        for (row, outcome) in rows.iter().zip(outcomes) {
            match outcome {
                Ok(()) if first_error.is_none() => published.push(row.seq),
                Ok(()) => {}
                Err(e) => {
                    failed.push(row.seq);
                    first_error.get_or_insert(e);
                }
            }
        }
        sqlx::query("update outbox set published_at = now() where seq = any($1)")
            .bind(&published)
            .execute(&mut *tx)
            .await?;
        self.count_failures(&mut tx, &failed).await?;
        tx.commit().await?;
        metrics::counter!("outbox_published_total").increment(published.len() as u64);
        match first_error {
            Some(e) => Err(e),
            None => Ok(Batch::Published(published.len())),
        }
    }

    /// Counts a failed send for each row, parking those that reached `max_attempts`.
    async fn count_failures(
        &self,
        conn: &mut sqlx::PgConnection,
        seqs: &[i64],
    ) -> sqlx::Result<()> {
        if seqs.is_empty() {
            return Ok(());
        }
        let parked: Vec<(uuid::Uuid, String)> = sqlx::query_as(
            "update outbox set attempts = attempts + 1,
                 parked_at = case when attempts + 1 >= $2 then now() end
             where seq = any($1)
             returning event_id, event_type, parked_at is not null as parked",
        )
        .bind(seqs)
        .bind(self.max_attempts)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .filter_map(|(id, event_type, parked): (uuid::Uuid, String, bool)| {
            parked.then_some((id, event_type))
        })
        .collect();
        for (id, event_type) in &parked {
            tracing::error!(event.id = %id, event.type = %event_type, attempts = self.max_attempts,
                "outbox row cannot be published: parked");
        }
        metrics::counter!("outbox_parked_total").increment(parked.len() as u64);
        Ok(())
    }

    async fn send(&self, row: &Row) -> anyhow::Result<()> {
        let topic = Topic::from_base_name(&row.topic)
            .map(|t| self.topics.name(t))
            .with_context(|| format!("outbox row {} names unknown topic {}", row.seq, row.topic))?;
        let event_id = row.event_id.to_string();
        let mut headers = OwnedHeaders::new()
            .insert(Header {
                key: "type",
                value: Some(&row.event_type),
            })
            .insert(Header {
                key: "id",
                value: Some(&event_id),
            });
        // The publish continues the trace of the work that wrote the event, and the consumers'
        // work continues the publish.
        let span = tracing::info_span!("publish", otel.name = format!("publish {}", row.event_type),
            otel.kind = "producer", messaging.system = "kafka", messaging.destination.name = %topic,
            messaging.kafka.message.key = %row.message_key, event.id = %event_id,
            trace_id = tracing::field::Empty);
        trace::follow(&span, row.traceparent.as_deref());
        let traceparent = trace::header_for(&span);
        headers = headers.insert(Header {
            key: trace::HEADER,
            value: Some(&traceparent),
        });
        let record = FutureRecord::to(&topic)
            .key(&row.message_key)
            .payload(&row.payload)
            .headers(headers);
        self.producer
            .send(record, Timeout::After(Duration::from_secs(30)))
            .instrument(span)
            .await
            .map_err(|(e, _)| {
                anyhow::anyhow!("cannot publish {} to {topic}: {e}", row.event_type)
            })?;
        Ok(())
    }

    /// Deletes published outbox rows older than `retention`, and inbox rows older than
    /// `inbox_retention` (far longer than any redelivery can come late).
    async fn delete_old_rows(&self) -> sqlx::Result<()> {
        let before = |age: Duration| {
            chrono::Utc::now()
                - chrono::Duration::from_std(age).unwrap_or(chrono::Duration::days(1))
        };
        let outbox = sqlx::query("delete from outbox where published_at < $1")
            .bind(before(self.retention))
            .execute(&self.pool)
            .await?
            .rows_affected();
        let inbox = sqlx::query("delete from inbox where processed_at < $1")
            .bind(before(self.inbox_retention))
            .execute(&self.pool)
            .await?
            .rows_affected();
        tracing::debug!(outbox, inbox, "old messaging rows deleted");
        Ok(())
    }
}
