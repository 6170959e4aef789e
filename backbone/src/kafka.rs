//! Kafka clients configured the one way this system uses them.

use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::consumer::{BaseConsumer, Consumer as _, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{FutureProducer, Producer};
use service_runtime::ReadinessCheck;
use shared_events::{Topics, topology};

/// Kafka settings, from the environment:
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `KAFKA_BROKERS` | `127.0.0.1:9092` | bootstrap servers |
/// | `TOPIC_PREFIX` | empty | prepended to every topic and consumer group name |
/// | `KAFKA_TOPIC_PARTITIONS` | `3` | partitions of topics the services create |
/// | `KAFKA_REPLICATION_FACTOR` | `1` | replication of topics the services create |
/// | `CONSUMER_BATCH_MAX` | `100` | most messages a consumer takes at once (`1`: one at a time) |
/// | `CONSUMER_BATCH_LINGER_MS` | `0` | wait for more once a batch has one (0: take those received) |
/// | `KAFKA_GROUP_INSTANCE_ID` | unset | this process's stable name in its consumer groups (static membership): a restarted process takes its partitions back at once instead of after the dead one's session timeout. Give each replica its own, kept across restarts (a StatefulSet pod's name; `./dev` sets `<service>-local`); unset, members are dynamic |
/// | `KAFKA_SESSION_TIMEOUT_MS` | `10000` | how long a silent group member keeps its partitions |
/// | `METRICS_REFRESH_MS` | `5000` | how often the gauges read from Kafka and the database are refreshed: consumer lag, outbox backlog (docs/observability.md) |
/// | `KAFKA_SECURITY_PROTOCOL` | `plaintext` | `plaintext`, `ssl`, `sasl_plaintext` or `sasl_ssl`: with `sasl_*` the service authenticates as its Kafka user (SCRAM), and the cluster's ACLs decide what it may write and read |
/// | `KAFKA_SASL_MECHANISM` | `SCRAM-SHA-512` | the SASL mechanism (Strimzi's `scram-sha-512` users) |
/// | `KAFKA_SASL_USERNAME` | unset | the service's Kafka user; required with `sasl_*` |
/// | `KAFKA_SASL_PASSWORD` | unset | its password (in Kubernetes, from the secret the user operator writes); required with `sasl_*` |
/// | `KAFKA_SSL_CA_LOCATION` | unset | a PEM file of the CA that signed the brokers' certificates (`ssl`, `sasl_ssl`; Strimzi's cluster CA); unset, the system's trust store |
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    pub brokers: String,
    pub topics: Topics,
    pub partitions: i32,
    pub replication: i32,
    /// The service's name: client id and consumer group base.
    pub client_id: String,
    /// How many messages consumers take at once.
    pub batch: BatchPolicy,
    /// Static group membership: this process's stable name, if it has one.
    pub group_instance: Option<String>,
    pub session_timeout: Duration,
    /// How often consumer lag (and the outbox's gauges) are read.
    pub metrics_interval: Duration,
    /// How the clients connect and who they are.
    pub security: Security,
}

/// How Kafka's clients connect: in the clear and anonymous (the local stack), or as the
/// service's own Kafka user over SCRAM, with TLS or without.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Security {
    /// librdkafka's `security.protocol`.
    pub protocol: Protocol,
    pub sasl: Option<Sasl>,
    /// The CA of the brokers' certificates (with TLS).
    pub ca_location: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Protocol {
    #[default]
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl Protocol {
    fn as_str(self) -> &'static str {
        match self {
            Protocol::Plaintext => "plaintext",
            Protocol::Ssl => "ssl",
            Protocol::SaslPlaintext => "sasl_plaintext",
            Protocol::SaslSsl => "sasl_ssl",
        }
    }

    fn uses_sasl(self) -> bool {
        matches!(self, Protocol::SaslPlaintext | Protocol::SaslSsl)
    }
}

impl std::str::FromStr for Protocol {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        [
            Protocol::Plaintext,
            Protocol::Ssl,
            Protocol::SaslPlaintext,
            Protocol::SaslSsl,
        ]
        .into_iter()
        .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
        .with_context(|| {
            format!(
                "KAFKA_SECURITY_PROTOCOL {s:?} is not plaintext, ssl, sasl_plaintext or sasl_ssl"
            )
        })
    }
}

/// A Kafka user's credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Sasl {
    pub mechanism: String,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Security {
    /// Without the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("protocol", &self.protocol)
            .field(
                "sasl",
                &self.sasl.as_ref().map(|s| (&s.mechanism, &s.username)),
            )
            .field("ca_location", &self.ca_location)
            .finish()
    }
}

impl Security {
    /// From `KAFKA_SECURITY_PROTOCOL`, `KAFKA_SASL_*` and `KAFKA_SSL_CA_LOCATION`; a SASL
    /// protocol without a user or a password is refused rather than tried.
    pub fn from_env() -> anyhow::Result<Self> {
        use service_runtime::settings::string;
        let protocol: Protocol = string("KAFKA_SECURITY_PROTOCOL", "plaintext").parse()?;
        let set = |value: String| Some(value).filter(|v| !v.is_empty());
        let username = set(string("KAFKA_SASL_USERNAME", ""));
        let password = set(string("KAFKA_SASL_PASSWORD", ""));
        let sasl = match (protocol.uses_sasl(), username, password) {
            (false, _, _) => None,
            (true, Some(username), Some(password)) => Some(Sasl {
                mechanism: string("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
                username,
                password,
            }),
            (true, _, _) => anyhow::bail!(
                "KAFKA_SECURITY_PROTOCOL={} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD",
                protocol.as_str()
            ),
        };
        Ok(Self {
            protocol,
            sasl,
            ca_location: set(string("KAFKA_SSL_CA_LOCATION", "")),
        })
    }

    /// Sets these on a client's configuration.
    pub fn apply(&self, config: &mut ClientConfig) {
        config.set("security.protocol", self.protocol.as_str());
        if let Some(sasl) = &self.sasl {
            config
                .set("sasl.mechanisms", &sasl.mechanism)
                .set("sasl.username", &sasl.username)
                .set("sasl.password", &sasl.password);
        }
        if let Some(ca) = &self.ca_location {
            config.set("ssl.ca.location", ca);
        }
    }
}

impl KafkaSettings {
    pub fn from_env(service: &str) -> anyhow::Result<Self> {
        use service_runtime::settings::{string, var};
        Ok(Self {
            brokers: string(
                "KAFKA_BROKERS",
                &format!("127.0.0.1:{}", service_runtime::settings::ports::KAFKA),
            ),
            topics: Topics::new(string("TOPIC_PREFIX", "")),
            partitions: var("KAFKA_TOPIC_PARTITIONS", 3)?,
            replication: var("KAFKA_REPLICATION_FACTOR", 1)?,
            client_id: service.to_owned(),
            batch: BatchPolicy {
                max: var("CONSUMER_BATCH_MAX", 100usize)?.max(1),
                linger: Duration::from_millis(var("CONSUMER_BATCH_LINGER_MS", 0)?),
            },
            group_instance: Some(string("KAFKA_GROUP_INSTANCE_ID", "")).filter(|id| !id.is_empty()),
            session_timeout: Duration::from_millis(var("KAFKA_SESSION_TIMEOUT_MS", 10_000)?),
            metrics_interval: Duration::from_millis(var("METRICS_REFRESH_MS", 5_000)?.max(100)),
            security: Security::from_env()?,
        })
    }

    /// What every client of the service is configured with: where the cluster is, who the
    /// service is to it, how fast to come back to a broker that went away. Public for the
    /// one-off clients beside the service's own (a rebuild's probe, the tools).
    pub fn base_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", &self.client_id)
            .set("log_level", "4")
            // librdkafka waits up to 10 s between attempts to reach a broker that went away,
            // so a client came back up to 10 s after its broker did; 1 s at most here (an
            // attempt a second per client during an outage costs the broker nothing).
            .set("reconnect.backoff.ms", "100")
            .set("reconnect.backoff.max.ms", "1000");
        self.security.apply(&mut config);
        config
    }

    /// An idempotent producer: `acks=all`, `enable.idempotence=true`, so a retried send is never
    /// written twice and per-partition order holds. Lingers a few milliseconds to batch when busy.
    pub fn producer(&self) -> anyhow::Result<FutureProducer> {
        self.base_config()
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "30000")
            .create()
            .context("cannot create Kafka producer")
    }

    /// A consumer in `group` (prefixed) that never commits an offset it was not told to store:
    /// auto-commit only commits offsets stored explicitly after processing. For one-off readers
    /// (a replay, a rebuild); a service's long-lived consumers are [`group_member`]s.
    ///
    /// [`group_member`]: Self::group_member
    pub fn consumer(&self, group: &str) -> anyhow::Result<StreamConsumer> {
        self.consumer_config(group)
            .create()
            .context("cannot create Kafka consumer")
    }

    /// The same one-off reader, polled by hand: its partitions can be split into queues of
    /// their own (a rebuild reads every partition in time order).
    pub fn blocking_consumer(&self, group: &str) -> anyhow::Result<BaseConsumer> {
        self.consumer_config(group)
            .create()
            .context("cannot create Kafka consumer")
    }

    /// A service's long-lived consumer in `group`: a static member when the process has a
    /// stable name (`KAFKA_GROUP_INSTANCE_ID`), and its rebalances logged.
    pub fn group_member(&self, group: &str) -> anyhow::Result<GroupConsumer> {
        let mut config = self.consumer_config(group);
        if let Some(instance) = &self.group_instance {
            // One name per group: a process runs one consumer in each of its groups.
            config.set("group.instance.id", format!("{instance}.{group}"));
        }
        config
            .create_with_context(Membership::new(group))
            .context("cannot create Kafka consumer")
    }

    fn consumer_config(&self, group: &str) -> ClientConfig {
        let mut config = self.base_config();
        config
            .set("group.id", format!("{}{group}", self.topics.prefix()))
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "1000")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set(
                "session.timeout.ms",
                self.session_timeout.as_millis().to_string(),
            )
            .set("heartbeat.interval.ms", "1000")
            .set("enable.partition.eof", "false");
        config
    }

    /// Creates the declared topics that do not exist yet (`shared_events::topology::TOPICS`:
    /// their retention; partitions and replication from these settings), and leaves those that
    /// do alone. Existing ones are found by a metadata request first, so a service whose Kafka
    /// user may not create topics (a production cluster's operator creates them) starts too;
    /// one that may not even see a topic leaves it to the cluster.
    pub async fn ensure_topics(&self) -> anyhow::Result<()> {
        let admin: AdminClient<DefaultClientContext> = self
            .base_config()
            .create()
            .context("cannot create Kafka admin client")?;
        let config = self.base_config();
        let existing: Vec<String> = tokio::task::spawn_blocking(move || {
            let client: BaseConsumer = config.create()?;
            let metadata = client.fetch_metadata(None, Duration::from_secs(10))?;
            anyhow::Ok(
                metadata
                    .topics()
                    .iter()
                    .map(|t| t.name().to_owned())
                    .collect(),
            )
        })
        .await?
        .context("cannot read the cluster's topics")?;
        let missing: Vec<(String, String)> = topology::TOPICS
            .iter()
            .map(|spec| {
                (
                    self.topics.name(spec.topic),
                    spec.retention.millis().to_string(),
                )
            })
            .filter(|(name, _)| !existing.contains(name))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let new_topics: Vec<NewTopic> = missing
            .iter()
            .map(|(name, retention)| {
                NewTopic::new(
                    name,
                    self.partitions,
                    TopicReplication::Fixed(self.replication),
                )
                .set("retention.ms", retention)
            })
            .collect();
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let results = admin
            .create_topics(&new_topics, &options)
            .await
            .context("cannot create Kafka topics")?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                // A service that runs as its own Kafka user sees only the topics its ACLs let it
                // describe, and may create none: the others are not its business, and the
                // cluster's operator creates them all (Strimzi's KafkaTopics). A topic it does
                // use and cannot reach fails where it is used, with the broker's reason.
                Err((topic, RDKafkaErrorCode::TopicAuthorizationFailed))
                    if self.security.sasl.is_some() =>
                {
                    tracing::debug!(%topic, "not this Kafka user's to create; left to the cluster");
                }
                Err((topic, code)) => anyhow::bail!("cannot create topic {topic}: {code}"),
            }
        }
        Ok(())
    }
}

/// Readiness: the broker answers a metadata request.
pub struct KafkaReadiness {
    producer: FutureProducer,
}

impl KafkaReadiness {
    pub fn new(producer: FutureProducer) -> Self {
        Self { producer }
    }
}

#[async_trait]
impl ReadinessCheck for KafkaReadiness {
    fn name(&self) -> &'static str {
        "kafka"
    }

    async fn check(&self) -> anyhow::Result<()> {
        let producer = self.producer.clone();
        tokio::task::spawn_blocking(move || {
            producer
                .client()
                .fetch_metadata(None, Duration::from_millis(1500))
                .map(|_| ())
        })
        .await??;
        Ok(())
    }
}

/// A service's consumer in its group.
pub type GroupConsumer = StreamConsumer<Membership>;

/// Logs a consumer's rebalances. When a restarted process gets its partitions back decides how
/// long the events meanwhile wait, so "partitions assigned" says how long after the consumer
/// was created.
pub struct Membership {
    group: String,
    created: std::time::Instant,
}

impl Membership {
    fn new(group: &str) -> Self {
        Self {
            group: group.to_owned(),
            created: std::time::Instant::now(),
        }
    }
}

impl ClientContext for Membership {}

impl ConsumerContext for Membership {
    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let after_ms = self.created.elapsed().as_millis() as u64;
        match rebalance {
            Rebalance::Assign(partitions) => tracing::info!(
                consumer.group = %self.group,
                partitions = partitions.count(),
                after_ms,
                "partitions assigned"
            ),
            Rebalance::Revoke(partitions) => tracing::info!(
                consumer.group = %self.group,
                partitions = partitions.count(),
                "partitions revoked"
            ),
            Rebalance::Error(e) => {
                tracing::warn!(consumer.group = %self.group, error = %e, "rebalance failed")
            }
        }
    }
}

/// How many messages the consumer takes at once: `CONSUMER_BATCH_MAX` and
/// `CONSUMER_BATCH_LINGER_MS` (see [`crate::KafkaSettings`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchPolicy {
    /// At most this many messages per batch (1: one at a time).
    pub max: usize,
    /// How long to wait for more messages once the first of a batch is in. Zero takes only those
    /// already received, so a lone event is never held back; under load batches form anyway,
    /// from the messages that arrive while the previous batch is applied.
    pub linger: Duration,
}

impl Default for BatchPolicy {
    fn default() -> Self {
        Self {
            max: 100,
            linger: Duration::ZERO,
        }
    }
}
