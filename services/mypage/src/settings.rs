//! Configuration, from the environment.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `HOST` | `0.0.0.0` | the address the HTTP server binds |
//! | `PORT` | `8086` | the HTTP server's port (see `ports.tsv`) |
//! | `MONGODB_URL` | `mongodb://127.0.0.1:27017` | the MongoDB (or FerretDB) server |
//! | `MONGODB_DATABASE` | `mypage` | the database of the read model |
//! | `REQUEST_TIMEOUT_MS` | see `backbone::ServiceSettings` | a request taking longer is answered 503; also its deadline when the caller sent none |
//! | `ADMISSION_*` | see `service_runtime::admission::AdmissionSettings` | admission control in front of the routes |
//! | `CONSUMER_BATCH_MAX` | `1000` | most events the projection folds at once (each order's events in one write); the other services' default is 100 |
//! | `MYPAGE_REMEMBERED_VIEWS` | `10000` | views the projection keeps in full as it wrote them (about 1–2 KB each): an order's next events are written with no read first |
//! | `MYPAGE_KNOWN_VIEWS` | `1000000` | views the projection knows are stored, by id alone (9–18 bytes each): an order's next events are read and written with no insert tried first |
//! | Kafka variables | see `backbone::KafkaSettings` | `KAFKA_BROKERS`, `TOPIC_PREFIX`, ... |

use std::time::Duration;

use backbone::KafkaSettings;
use secrecy::SecretString;
use service_runtime::admission::AdmissionSettings;
use service_runtime::settings::{HttpSettings, ports, secret, string, var};

use crate::db::recent::{self, Remembered};

const PROJECTION_BATCH_MAX: usize = 1_000;

#[derive(Debug, Clone)]
pub struct Settings {
    pub http: HttpSettings,
    pub kafka: KafkaSettings,
    /// May carry credentials.
    pub mongodb_url: SecretString,
    pub mongodb_database: String,
    pub request_timeout: Duration,
    pub admission: AdmissionSettings,
    /// What the projection remembers of the views it wrote (see `db::recent`).
    pub remembered: Remembered,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        let mut kafka = KafkaSettings::from_env("mypage")?;
        // Folding costs a round trip per order, not per event: larger batches pay off here.
        if std::env::var_os("CONSUMER_BATCH_MAX").is_none() {
            kafka.batch.max = PROJECTION_BATCH_MAX;
        }
        Ok(Self {
            http: HttpSettings::from_env(ports::MYPAGE)?,
            kafka,
            mongodb_url: secret(
                "MONGODB_URL",
                &format!("mongodb://127.0.0.1:{}", ports::MONGO),
            ),
            mongodb_database: string("MONGODB_DATABASE", "mypage"),
            request_timeout: backbone::request_timeout_from_env()?,
            admission: AdmissionSettings::from_env(AdmissionSettings::default())?,
            remembered: Remembered {
                copies: var("MYPAGE_REMEMBERED_VIEWS", recent::CAPACITY)?,
                ids: var("MYPAGE_KNOWN_VIEWS", recent::KNOWN_CAPACITY)?,
            },
        })
    }
}
