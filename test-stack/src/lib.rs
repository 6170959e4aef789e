//! Isolation for integration tests that run against the real servers started by `./dev test`.
//!
//! Each test gets a database of its own (created from `TEST_DATABASE_URL`, dropped by
//! [`TestDatabase::drop`]) and a topic prefix of its own, so tests run in parallel on one broker
//! and one PostgreSQL server without seeing each other's data or events.

#![allow(clippy::unwrap_used)] // test support: a failure here is a failed test

pub mod journey;

use std::time::Duration;

use backbone::KafkaSettings;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use shared_events::{Topic, Topics};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

/// The server tests create their databases on (an admin-capable role).
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| {
        "postgres://fooddelivery:fooddelivery@127.0.0.1:5432/postgres".to_owned()
    })
}

pub fn brokers() -> String {
    std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
}

/// A fresh, empty database for one test.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let admin = admin_url();
        let name = format!("test_{}", Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&admin)
            .await
            .expect("the test PostgreSQL server is not reachable: run the tests with ./dev test");
        sqlx::query(&format!("create database {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .connect(&url)
            .await
            .unwrap();
        Self { name, url, pool }
    }

    /// Drops the database. Call at the end of a test; a failed test leaves it for inspection.
    ///
    /// `with (force)` ends the connections a stopped service may still be closing, but it
    /// refuses to signal a backend of another role, and an autovacuum worker busy on the
    /// database is one. A plain drop stops autovacuum workers itself and waits for them, so
    /// it is the fallback; a few attempts cover a worker that starts again in between.
    pub async fn drop(self) {
        self.pool.close().await;
        let mut conn = PgConnection::connect(&admin_url()).await.unwrap();
        let name = &self.name;
        let mut last_error = None;
        for attempt in 0..10 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            for statement in [
                format!("drop database if exists {name} with (force)"),
                format!("drop database if exists {name}"),
            ] {
                match sqlx::query(&statement).execute(&mut conn).await {
                    Ok(_) => return,
                    Err(error) => last_error = Some(error),
                }
            }
        }
        panic!("could not drop the test database {name}: {last_error:?}");
    }
}

/// The prefix of every test topic.
const TEST_TOPIC_PREFIX: &str = "test-";

/// Deletes the topics earlier test binaries left behind, once per test binary, before its
/// first test creates its own (test binaries run one after another, so none is in use).
/// Without it the broker would collect thousands of partitions across runs.
async fn delete_leftover_topics() {
    static DONE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    DONE.get_or_init(|| async {
        let admin: rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext> =
            match rdkafka::ClientConfig::new()
                .set("bootstrap.servers", brokers())
                .create()
            {
                Ok(admin) => admin,
                Err(_) => return,
            };
        let Ok(metadata) = admin.inner().fetch_metadata(None, Duration::from_secs(10)) else {
            return;
        };
        let leftovers: Vec<String> = metadata
            .topics()
            .iter()
            .map(|t| t.name().to_owned())
            .filter(|name| name.starts_with(TEST_TOPIC_PREFIX))
            .collect();
        for chunk in leftovers.chunks(500) {
            let names: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let options = rdkafka::admin::AdminOptions::new()
                .operation_timeout(Some(Duration::from_secs(30)));
            let _ = admin.delete_topics(&names, &options).await;
        }
    })
    .await;
}

/// The services' logs, for diagnosing a failed run: with `TEST_LOG` set to a filter (as
/// `RUST_LOG`, e.g. `info` or `backbone=debug,info`), every service a test binary runs logs to
/// its standard error, uncaptured by the test harness, so `TEST_LOG=info cargo test … 2>log`
/// keeps the whole run (tests run side by side: follow one by its order ids or topic prefix).
/// Unset, nothing is logged (the default: the harness's output stays readable).
fn log_when_asked() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_writer(std::io::stderr)
                .try_init();
        }
    });
}

/// Kafka settings with a topic prefix no other test uses; topics created.
pub async fn kafka(service: &str) -> KafkaSettings {
    log_when_asked();
    delete_leftover_topics().await;
    let settings = KafkaSettings {
        brokers: brokers(),
        topics: Topics::new(format!("{TEST_TOPIC_PREFIX}{}.", Uuid::new_v4().simple())),
        partitions: 3,
        // `./dev test` sets it to the local cluster's size (KAFKA_NODES).
        replication: std::env::var("KAFKA_REPLICATION_FACTOR")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(1),
        client_id: service.to_owned(),
        batch: backbone::consumer::BatchPolicy::default(),
        group_instance: None,
        session_timeout: Duration::from_secs(10),
        // Often enough for a test to see the lag move within its patience (30 s); rare enough
        // that the many consumers of a suite's parallel systems, each reading its lag from the
        // broker (metadata, committed and end offsets per partition), do not slow the broker's
        // fetches: at 2 s a run of the system tests saw events stall past 30 s.
        metrics_interval: Duration::from_secs(10),
        security: backbone::kafka::Security::default(),
    };
    settings
        .ensure_topics()
        .await
        .expect("the test Kafka broker is not reachable: run the tests with ./dev test");
    settings
}

/// A plain producer for tests that write raw messages.
pub fn raw_producer(settings: &KafkaSettings) -> FutureProducer {
    settings.producer().unwrap()
}

/// Sends raw bytes to `topic`.
pub async fn send_raw(settings: &KafkaSettings, topic: Topic, key: &str, payload: &[u8]) {
    raw_producer(settings)
        .send(
            FutureRecord::to(&settings.topics.name(topic))
                .key(key)
                .payload(payload),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)
        .unwrap();
}

/// Publishes events in order, each to its topic, through one producer (a producer's start-up
/// costs a round of broker requests: one per event would dominate a test's time).
pub async fn publish_events(settings: &KafkaSettings, envelopes: &[shared_events::Envelope]) {
    let producer = raw_producer(settings);
    for envelope in envelopes {
        let topic = settings.topics.name(envelope.event.topic());
        let (key, payload) = (envelope.key(), envelope.to_bytes());
        producer
            .send(
                FutureRecord::to(&topic).key(&key).payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
}

/// Reads every message of `topic` from the beginning until `count` arrived or `timeout` passed.
pub async fn read_topic(
    settings: &KafkaSettings,
    topic: Topic,
    count: usize,
    timeout: Duration,
) -> Vec<rdkafka::message::OwnedMessage> {
    let consumer: StreamConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &settings.brokers)
        .set("group.id", format!("reader-{}", Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[&settings.topics.name(topic)]).unwrap();
    let mut messages = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout;
    while messages.len() < count {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Ok(Ok(m)) => messages.push(m.detach()),
            Ok(Err(e)) => panic!("reading {topic}: {e}"),
            Err(_) => break,
        }
    }
    messages
}

/// The envelopes on `topic` as JSON, read like [`read_topic`] (waits up to `timeout` for one
/// more than `expected`, so that an extra, unwanted message shows).
pub async fn read_events(
    settings: &KafkaSettings,
    topic: Topic,
    expected: usize,
    timeout: Duration,
) -> Vec<serde_json::Value> {
    read_topic(settings, topic, expected + 1, timeout)
        .await
        .iter()
        .map(|m| serde_json::from_slice(m.payload().unwrap()).unwrap())
        .collect()
}

/// Waits until `consumer` has recorded `count` distinct events in its inbox.
pub async fn wait_for_inbox(pool: &PgPool, consumer: &str, count: i64) {
    eventually(Duration::from_secs(30), "events handled", || async {
        let handled: i64 = sqlx::query_scalar("select count(*) from inbox where consumer = $1")
            .bind(consumer)
            .fetch_one(pool)
            .await
            .ok()?;
        (handled >= count).then_some(())
    })
    .await;
}

/// Polls `check` every 50 ms until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The value of a header of `message` as text.
pub fn header_of(message: &impl Message, key: &str) -> Option<String> {
    backbone::consumer::header(message, key).map(str::to_owned)
}

/// Service settings for a test: its own database, topic prefix, port 0.
pub fn service_settings(db: &TestDatabase, kafka: &KafkaSettings) -> backbone::ServiceSettings {
    backbone::ServiceSettings {
        http: service_runtime::settings::HttpSettings::loopback(),
        database: service_runtime::db::DatabaseSettings {
            url: secrecy::SecretString::from(db.url.clone()),
            max_connections: 5,
            acquire_timeout: Duration::from_secs(5),
        },
        kafka: kafka.clone(),
        request_timeout: Duration::from_secs(10),
        admission: admission(),
        freeze_after_publish: false,
    }
}

/// Admission control roomy enough that a test's bursts (twenty decisions at once on a busy
/// machine) are never refused: tests about overload set their own limits.
pub fn admission() -> service_runtime::admission::AdmissionSettings {
    service_runtime::admission::AdmissionSettings {
        queue_timeout: Duration::from_secs(2),
        ..service_runtime::admission::AdmissionSettings::fixed(256)
    }
}

/// A service running in the test process.
pub struct RunningApp {
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub shutdown: tokio_util::sync::CancellationToken,
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningApp {
    /// Runs `app` and waits until `/health/ready` says 200.
    pub async fn start(app: service_runtime::Application) -> Self {
        let port = app.port();
        let shutdown = app.shutdown_token();
        let task = tokio::spawn(app.run_until_stopped());
        let running = Self {
            address: format!("http://127.0.0.1:{port}"),
            port,
            client: reqwest::Client::new(),
            shutdown,
            task,
        };
        running.wait_ready().await;
        running
    }

    pub async fn wait_ready(&self) {
        eventually(
            Duration::from_secs(30),
            "the service to be ready",
            || async {
                let status = self.get("/health/ready").send().await.ok()?.status();
                (status == reqwest::StatusCode::OK).then_some(())
            },
        )
        .await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path))
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path))
    }

    /// Stops it as a signal would, and waits until it has drained.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.unwrap().unwrap();
    }
}

/// Identity headers as the gateway sets them.
#[allow(clippy::wrong_self_convention)] // a builder step named like the HTTP idea it adds
pub trait AsUser {
    fn as_user(self, user_id: &str, role: &str) -> Self;
}

impl AsUser for reqwest::RequestBuilder {
    fn as_user(self, user_id: &str, role: &str) -> Self {
        self.header("x-user-id", user_id)
            .header("x-user-role", role)
    }
}

/// A TCP proxy that can cut the connection to a server, to test behaviour while it is down.
pub struct TcpProxy {
    pub port: u16,
    enabled: tokio::sync::watch::Sender<bool>,
}

impl TcpProxy {
    pub async fn start(target: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (enabled, watch) = tokio::sync::watch::channel(true);
        let target = target.to_owned();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !*watch.borrow() {
                    continue; // dropped: the server is "unreachable"
                }
                let target = target.clone();
                let mut watch = watch.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = watch.wait_for(|on| !on) => {}
                    }
                });
            }
        });
        Self { port, enabled }
    }

    /// Cuts live connections and refuses new ones until [`restore`](Self::restore).
    pub fn cut(&self) {
        self.enabled.send_replace(false);
    }

    pub fn restore(&self) {
        self.enabled.send_replace(true);
    }
}

/// Fails unless the committed file at `path` (from the workspace root) is exactly `generated`,
/// naming the first line that differs and how to regenerate it (`regenerate`, a command). Read
/// at run time, so that a stale file fails instead of being compiled in.
pub fn assert_committed(path: &str, generated: &str, regenerate: &str) {
    let file = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
    let committed = std::fs::read_to_string(file).unwrap_or_default();
    if generated == committed {
        return;
    }
    let first_difference = generated
        .lines()
        .zip(committed.lines())
        .position(|(g, c)| g != c)
        .map_or_else(
            || "one is a prefix of the other".to_owned(),
            |i| format!("line {}", i + 1),
        );
    panic!(
        "{path} is out of date with the code (first difference: {first_difference}).\n\
         Regenerate it from the workspace root and commit it:\n\n    {regenerate}\n"
    );
}
