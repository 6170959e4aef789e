//! `readmodel-bench [SIZES]` (`./dev bench readmodel`): fills the mypage read model through its
//! real projection — the service in this process, consuming synthesized order events from
//! Kafka into MongoDB/FerretDB — to each size in turn (default `10000,100000` orders), and at
//! each size prints how fast it projected, how fast its queries answer, how fast it rebuilds,
//! and how large it is. Its topics and database are its own (`readmodel-<time>`), removed at the
//! end. Settings come from mypage's environment (`KAFKA_BROKERS`, `MONGODB_URL`); also:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `READMODEL_REBUILD_UP_TO` | `100000` | time `mypage rebuild` at sizes up to this many orders |
//! | `READMODEL_BACKLOG` | `10000` | orders the fill may be ahead of the projection, as under a steady stream (it waits for the oldest half to be projected before sending more); `0`: each step's orders all at once, a burst to catch up on |
//! | `FERRETDB_POSTGRES_URL` | — | FerretDB's PostgreSQL database, to count rows read by sequential scans |

mod measure;
mod workload;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::producer::FutureRecord;
use secrecy::ExposeSecret;
use shared_events::{Topic, Topics};
use uuid::Uuid;

use measure::{database_megabytes, get_as, get_latency, largest_document, sequential_rows};
use workload::{CUSTOMERS, Catalog, customer};

/// Sends in flight at once.
const IN_FLIGHT: usize = 5_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sizes: Vec<usize> = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "10000,100000".to_owned())
        .split(',')
        .map(|s| s.trim().replace('_', "").parse())
        .collect::<Result<_, _>>()
        .context("SIZES: comma-separated order counts, e.g. 10000,100000")?;
    let rebuild_up_to: usize = service_runtime::settings::var("READMODEL_REBUILD_UP_TO", 100_000)?;
    let backlog: usize = service_runtime::settings::var("READMODEL_BACKLOG", 10_000)?;
    let chunk = match backlog {
        0 => usize::MAX,
        n => (n / 2).max(1),
    };
    let pg = match std::env::var("FERRETDB_POSTGRES_URL") {
        Ok(url) => Some(sqlx::PgPool::connect(&url).await?),
        Err(_) => None,
    };

    let run = chrono::Utc::now().format("%Y%m%dt%H%M%S").to_string();
    let mut settings = mypage_service::Settings::from_env()?;
    settings.http = service_runtime::settings::HttpSettings::loopback();
    settings.kafka.topics = Topics::new(format!("readmodel-{run}"));
    settings.mongodb_database = format!("readmodel_{run}");
    settings.kafka.ensure_topics().await?;
    let app = mypage_service::build(settings.clone()).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let shutdown = app.shutdown_token();
    let server = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    wait_ready(&client, &base).await?;
    let mongo = mongodb::Client::with_uri_str(settings.mongodb_url.expose_secret()).await?;
    let db = mongo.database(&settings.mongodb_database);
    let store = mypage_service::db::Store::connect(
        settings.mongodb_url.expose_secret(),
        &settings.mongodb_database,
    )
    .await?;

    match backlog {
        0 => println!("Each step's orders are sent all at once.\n"),
        n => println!("The fill stays at most {n} orders ahead of the projection.\n"),
    }
    println!(
        "| orders | events | projected events/s | views remembered % | inserts refused | GET order p50 / p99 ms | GET list p99 ms | popular p99 ms | rebuild events/s | database MB | largest document B | seq-scan rows / event |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let producer = settings.kafka.producer()?;
    let partitions = usize::try_from(settings.kafka.partitions)?.max(1);
    let catalog = Catalog::new();
    let mut orders: Vec<Uuid> = Vec::new();
    let mut events_total = 0usize;
    for size in sizes {
        let step_events_before = events_total;
        let scanned_before = sequential_rows(pg.as_ref(), &settings.mongodb_database).await;
        let writes_before = view_writes(&client, &base).await?;
        let started = Instant::now();
        // The last order sent to each partition in each chunk of half the backlog, with its
        // number of events: once its view holds them all, everything before it in that
        // partition has been projected too. The fill waits for the oldest chunk not yet seen
        // projected before it is a whole backlog ahead, and for every one at the end.
        let mut chunk_last: Vec<Option<(Uuid, String, usize)>> = vec![None; partitions];
        let mut unseen = VecDeque::new();
        let mut sending = FuturesUnordered::new();
        let first = orders.len();
        for n in first..size {
            if n > first && (n - first).is_multiple_of(chunk) {
                let sent = std::mem::replace(&mut chunk_last, vec![None; partitions]);
                unseen.push_back(sent.into_iter().flatten().collect());
                if unseen.len() >= 2
                    && let Some(oldest) = unseen.pop_front()
                {
                    // A send starts when it is first polled: those still queued here would
                    // never reach Kafka while the fill waits on them.
                    while let Some(sent) = sending.next().await {
                        sent?;
                    }
                    wait_all_projected(&client, &base, oldest).await?;
                }
            }
            let (order, events) = catalog.order(n);
            let partition = n % partitions;
            for envelope in &events {
                let topic = settings.kafka.topics.name(envelope.event.topic());
                let (key, payload) = (envelope.key(), envelope.to_bytes());
                let producer = producer.clone();
                sending.push(async move {
                    let record = FutureRecord::to(&topic)
                        .partition(i32::try_from(partition).unwrap_or(0))
                        .key(&key)
                        .payload(&payload);
                    producer
                        .send(record, Duration::from_secs(30))
                        .await
                        .map_err(|(e, _)| e)
                });
                while sending.len() >= IN_FLIGHT {
                    if let Some(sent) = sending.next().await {
                        sent?;
                    }
                }
            }
            events_total += events.len();
            chunk_last[partition] = Some((order.id, customer(n), events.len()));
            orders.push(order.id);
        }
        while let Some(sent) = sending.next().await {
            sent?;
        }
        unseen.push_back(chunk_last.into_iter().flatten().collect());
        for sent in unseen {
            wait_all_projected(&client, &base, sent).await?;
        }
        let projection_seconds = started.elapsed().as_secs_f64();
        let step_events = events_total - step_events_before;
        let writes = view_writes(&client, &base).await? - writes_before;
        let remembered_share = 100.0 * writes.hits / (writes.hits + writes.misses).max(1.0);

        let count = orders.len();
        let pick = |i: usize| (i * 7_919 + 13) % count;
        let one = get_latency(&client, &base, 1_000, |i| {
            let n = pick(i);
            (format!("/mypage/orders/{}", orders[n]), customer(n))
        })
        .await?;
        let list = get_latency(&client, &base, 200, |i| {
            let n = pick(i) % CUSTOMERS.min(count);
            ("/mypage/orders".to_owned(), customer(n))
        })
        .await?;
        let popular = get_latency(&client, &base, 200, |_| {
            ("/mypage/popular-menus?limit=10".to_owned(), "anyone".into())
        })
        .await?;
        let scanned_after = sequential_rows(pg.as_ref(), &settings.mongodb_database).await;
        let rebuild = if size <= rebuild_up_to {
            let started = Instant::now();
            let report = mypage_service::rebuild::run(&settings).await?;
            format!(
                "{:.0}",
                report.events as f64 / started.elapsed().as_secs_f64()
            )
        } else {
            "—".to_owned()
        };
        let generation = store.generations().await?.active;
        let sampled = (0..200).map(|i| orders[pick(i)]);
        let largest = largest_document(&db, &generation, sampled).await?;
        let megabytes = database_megabytes(&db).await?;
        let scans = match (scanned_before, scanned_after) {
            (Some(before), Some(after)) => {
                format!("{:.2}", (after - before) as f64 / step_events as f64)
            }
            _ => "—".to_owned(),
        };
        println!(
            "| {count} | {events_total} | {:.0} | {remembered_share:.0} | {:.0} | {:.2} / {:.2} | {:.2} | {:.2} | {rebuild} | {megabytes:.0} | {largest} | {scans} |",
            step_events as f64 / projection_seconds,
            writes.refused,
            one.p50,
            one.p99,
            list.p99,
            popular.p99,
        );
    }

    shutdown.cancel();
    server.await??;
    db.drop().await?;
    delete_topics(&settings.kafka).await;
    Ok(())
}

async fn wait_ready(client: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    for _ in 0..300 {
        let ready = client.get(format!("{base}/health/ready")).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("mypage did not become ready (are Kafka and MongoDB up? ./dev infra)")
}

/// mypage's counters so far of how it wrote views: batches of an order's events folded into
/// the copy it wrote last (`hits`), or into the view read back (`misses`); and inserts refused
/// because the view was stored already (`refused`), each of which makes FerretDB insert its
/// whole request one view at a time.
#[derive(Debug, Clone, Copy, Default)]
struct ViewWrites {
    hits: f64,
    misses: f64,
    refused: f64,
}

impl std::ops::Sub for ViewWrites {
    type Output = Self;

    fn sub(self, before: Self) -> Self {
        Self {
            hits: self.hits - before.hits,
            misses: self.misses - before.misses,
            refused: self.refused - before.refused,
        }
    }
}

async fn view_writes(client: &reqwest::Client, base: &str) -> anyhow::Result<ViewWrites> {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let count = |series: &str| {
        let series = format!("{series} ");
        text.lines()
            .find_map(|line| {
                line.strip_prefix(series.as_str())?
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
            .unwrap_or(0.0)
    };
    Ok(ViewWrites {
        hits: count("mypage_remembered_views_total{outcome=\"hit\"}"),
        misses: count("mypage_remembered_views_total{outcome=\"miss\"}"),
        refused: count("mypage_view_inserts_refused_total"),
    })
}

/// Waits until each order's view holds its number of events.
async fn wait_all_projected(
    client: &reqwest::Client,
    base: &str,
    orders: Vec<(Uuid, String, usize)>,
) -> anyhow::Result<()> {
    for (order_id, customer, events) in orders {
        wait_projected(client, base, order_id, &customer, events).await?;
    }
    Ok(())
}

/// Waits until the order's view holds `events` events.
async fn wait_projected(
    client: &reqwest::Client,
    base: &str,
    order_id: Uuid,
    customer: &str,
    events: usize,
) -> anyhow::Result<()> {
    let url = format!("{base}/mypage/orders/{order_id}");
    loop {
        let response = get_as(client, &url, customer).send().await?;
        if response.status().is_success() {
            let view: serde_json::Value = response.json().await?;
            if view["history"].as_array().map(Vec::len) == Some(events) {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn delete_topics(kafka: &backbone::KafkaSettings) {
    let admin: Result<AdminClient<_>, _> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &kafka.brokers)
        .create();
    let Ok(admin) = admin else { return };
    let names: Vec<String> = Topic::ALL.map(|t| kafka.topics.name(t)).into();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let _ = admin.delete_topics(&names, &AdminOptions::new()).await;
}
