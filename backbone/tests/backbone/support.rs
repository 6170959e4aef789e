//! A recording handler and helpers shared by the backbone tests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use backbone::consumer::{Consumer, RetryPolicy};
use backbone::outbox;
use backbone::{EventHandler, HandleError, KafkaSettings, PgInbox, Relay};
use service_runtime::retry::Backoff;
use shared_events::{CancelReason, Envelope, Event, OrderCanceled, Topic};
use sqlx::{PgConnection, PgPool};
use test_stack::TestDatabase;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// A test service: its database (messaging tables plus an `effect` table) and Kafka settings.
pub struct Stack {
    pub db: TestDatabase,
    pub kafka: KafkaSettings,
}

impl Stack {
    pub async fn start() -> Self {
        let db = TestDatabase::create().await;
        backbone::schema::migrate(&db.pool, &sqlx::migrate::Migrator::DEFAULT)
            .await
            .unwrap();
        sqlx::query(
            "create table effect (seq bigint generated always as identity, event_id uuid not null, instance text not null, handled_at timestamptz not null default now())",
        )
        .execute(&db.pool)
        .await
        .unwrap();
        let kafka = test_stack::kafka("backbone-test").await;
        Self { db, kafka }
    }

    pub fn pool(&self) -> &PgPool {
        &self.db.pool
    }

    /// Starts the outbox relay.
    pub fn relay(&self, shutdown: &CancellationToken) -> JoinHandle<()> {
        self.relay_with(|_| {}, shutdown)
    }

    /// Starts the outbox relay, adjusted by `adjust`.
    pub fn relay_with(
        &self,
        adjust: impl FnOnce(&mut Relay),
        shutdown: &CancellationToken,
    ) -> JoinHandle<()> {
        let mut relay = Relay::new(
            self.pool().clone(),
            self.kafka.producer().unwrap(),
            self.kafka.topics.clone(),
        );
        adjust(&mut relay);
        relay.spawn(shutdown.child_token())
    }

    /// Starts a consumer (group `recorder`) whose effect is a row in `effect` tagged `instance`.
    pub fn consumer(&self, instance: &str, shutdown: &CancellationToken) -> JoinHandle<()> {
        self.consumer_with(Recorder::new(instance), shutdown)
    }

    pub fn consumer_with(
        &self,
        recorder: Recorder,
        shutdown: &CancellationToken,
    ) -> JoinHandle<()> {
        self.consumer_tuned(recorder, |_| {}, shutdown)
    }

    /// Starts a consumer of `recorder`, adjusted by `adjust` (after the tests' retry policy).
    pub fn consumer_tuned(
        &self,
        recorder: Recorder,
        adjust: impl FnOnce(&mut Consumer<PgInbox<Recorder>>),
        shutdown: &CancellationToken,
    ) -> JoinHandle<()> {
        let mut consumer = Consumer::new(
            PgInbox::new(self.pool().clone(), recorder),
            self.kafka.clone(),
            self.kafka.producer().unwrap(),
        );
        consumer.retry = RetryPolicy {
            max_attempts: 3,
            backoff: Backoff::new(Duration::from_millis(20), Duration::from_millis(100)),
        };
        adjust(&mut consumer);
        consumer.spawn(shutdown.child_token()).unwrap()
    }

    /// Writes events to the outbox in one committed transaction.
    pub async fn enqueue(&self, envelopes: &[Envelope]) {
        let mut tx = self.pool().begin().await.unwrap();
        outbox::enqueue_all(&mut tx, envelopes).await.unwrap();
        outbox::commit(tx).await.unwrap();
    }

    /// How many effects each event had, for the given events.
    pub async fn effects_of(&self, ids: &[Uuid]) -> Vec<i64> {
        let mut counts = Vec::with_capacity(ids.len());
        for id in ids {
            let n: i64 = sqlx::query_scalar("select count(*) from effect where event_id = $1")
                .bind(id)
                .fetch_one(self.pool())
                .await
                .unwrap();
            counts.push(n);
        }
        counts
    }

    /// The events that had an effect, in the order of their effects.
    pub async fn effects_in_order(&self) -> Vec<Uuid> {
        sqlx::query_scalar("select event_id from effect order by seq")
            .fetch_all(self.pool())
            .await
            .unwrap()
    }

    /// The sizes (in events) of the database transactions that wrote the inbox rows of `ids`,
    /// oldest first.
    pub async fn events_per_transaction(&self, ids: &[Uuid]) -> Vec<i64> {
        sqlx::query_scalar(
            "select count(*) from inbox where event_id = any($1) group by xmin::text order by min(processed_at)",
        )
        .bind(ids)
        .fetch_all(self.pool())
        .await
        .unwrap()
    }

    /// Waits until the relay has published every outbox row.
    pub async fn wait_published(&self) {
        test_stack::eventually(Duration::from_secs(30), "the outbox published", || async {
            let pending: i64 =
                sqlx::query_scalar("select count(*) from outbox where published_at is null")
                    .fetch_one(self.pool())
                    .await
                    .ok()?;
            (pending == 0).then_some(())
        })
        .await;
    }

    /// Whether `group` has committed every message of the order topic (its offsets stand at
    /// the end of each partition).
    pub async fn committed_everything(&self, group: &str) -> bool {
        let kafka = self.kafka.clone();
        let group = format!("{}{group}", kafka.topics.prefix());
        tokio::task::spawn_blocking(move || {
            use rdkafka::consumer::{BaseConsumer, Consumer as _};
            let timeout = Duration::from_secs(10);
            let reader: BaseConsumer = rdkafka::ClientConfig::new()
                .set("bootstrap.servers", &kafka.brokers)
                .set("group.id", &group)
                .create()
                .unwrap();
            let topic = kafka.topics.name(Topic::Order);
            let mut partitions = rdkafka::TopicPartitionList::new();
            for p in 0..kafka.partitions {
                partitions.add_partition(&topic, p);
            }
            let committed = reader.committed_offsets(partitions, timeout).unwrap();
            (0..kafka.partitions).all(|p| {
                let (_, end) = reader.fetch_watermarks(&topic, p, timeout).unwrap();
                let at = committed.find_partition(&topic, p).unwrap().offset();
                end == 0 || at == rdkafka::Offset::Offset(end)
            })
        })
        .await
        .unwrap()
    }

    pub async fn total_effects(&self) -> i64 {
        sqlx::query_scalar("select count(*) from effect")
            .fetch_one(self.pool())
            .await
            .unwrap()
    }

    /// Waits until `n` effects are recorded.
    pub async fn wait_for_effects(&self, n: i64) {
        test_stack::eventually(Duration::from_secs(30), &format!("{n} effects"), || async {
            (self.total_effects().await >= n).then_some(())
        })
        .await;
    }

    pub async fn finish(self) {
        self.db.drop().await;
    }
}

/// An order event with a fresh order id (so events spread over partitions).
pub fn event() -> Envelope {
    event_for(Uuid::new_v4())
}

/// An order event of `order_id` (same key, so same partition, as its other events).
pub fn event_for(order_id: Uuid) -> Envelope {
    Envelope::new(
        "test",
        OrderCanceled {
            order_id,
            customer_id: "alice".into(),
            store_id: Uuid::new_v4(),
            reason: CancelReason::Customer,
        },
    )
}

/// An event the unfixed recorder cannot handle.
pub fn poison() -> Envelope {
    poison_for(Uuid::new_v4())
}

/// An event of `order_id` the unfixed recorder cannot handle.
pub fn poison_for(order_id: Uuid) -> Envelope {
    event_of(order_id, "poison")
}

/// An event of `order_id` the recorder fails on as if the database were down, the first time.
pub fn flaky_for(order_id: Uuid) -> Envelope {
    event_of(order_id, "flaky")
}

fn event_of(order_id: Uuid, customer: &str) -> Envelope {
    Envelope::new(
        "test",
        OrderCanceled {
            order_id,
            customer_id: customer.into(),
            store_id: Uuid::new_v4(),
            reason: CancelReason::Customer,
        },
    )
}

pub fn events(n: usize) -> Vec<Envelope> {
    (0..n).map(|_| event()).collect()
}

/// Records each event it handles as a row in `effect`. Fails for events whose customer is
/// `poison` (to exercise retries and dead letters), and transiently the first time for those
/// whose customer is `flaky`.
pub struct Recorder {
    instance: String,
    /// After "the fix": poison is digested like anything else.
    fixed: bool,
    /// Every call to `handle`, committed or not, in order.
    pub calls: Arc<Mutex<Vec<Uuid>>>,
}

impl Recorder {
    pub fn new(instance: &str) -> Self {
        Self {
            instance: instance.to_owned(),
            fixed: false,
            calls: Arc::default(),
        }
    }

    pub fn fixed(instance: &str) -> Self {
        Self {
            fixed: true,
            ..Self::new(instance)
        }
    }
}

#[async_trait]
impl EventHandler for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }

    fn topics(&self) -> Vec<Topic> {
        vec![Topic::Order]
    }

    fn accepts(&self, event: &Event) -> bool {
        matches!(event, Event::OrderCanceled(_))
    }

    async fn handle(&self, tx: &mut PgConnection, envelope: &Envelope) -> Result<(), HandleError> {
        let first_call = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(envelope.id);
            !calls[..calls.len() - 1].contains(&envelope.id)
        };
        let Event::OrderCanceled(e) = &envelope.event else {
            return Ok(());
        };
        if e.customer_id == "poison" && !self.fixed {
            return Err(HandleError::Failed(anyhow::anyhow!(
                "cannot digest this order"
            )));
        }
        if e.customer_id == "flaky" && first_call {
            return Err(HandleError::Transient(anyhow::anyhow!(
                "the database is down, for a moment"
            )));
        }
        sqlx::query("insert into effect (event_id, instance) values ($1, $2)")
            .bind(envelope.id)
            .bind(&self.instance)
            .execute(tx)
            .await?;
        Ok(())
    }
}
