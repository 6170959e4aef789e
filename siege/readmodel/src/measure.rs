//! Latencies of the read model's three queries through mypage's HTTP API, and the sizes of
//! what it stores.

use std::time::{Duration, Instant};

use mongodb::bson::{Document, doc};
use service_runtime::identity::{USER_ID_HEADER, USER_ROLE_HEADER};

/// Percentiles of a sample, in milliseconds.
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
}

impl Latency {
    fn of(mut sample: Vec<Duration>) -> Self {
        sample.sort();
        let at = |q: f64| {
            let i = ((sample.len() as f64 * q).ceil() as usize).clamp(1, sample.len()) - 1;
            sample[i].as_secs_f64() * 1000.0
        };
        Self {
            p50: at(0.50),
            p99: at(0.99),
        }
    }
}

/// A GET as the customer `user`, with the identity headers the gateway would set.
pub fn get_as(client: &reqwest::Client, url: &str, user: &str) -> reqwest::RequestBuilder {
    client
        .get(url)
        .header(USER_ID_HEADER, user)
        .header(USER_ROLE_HEADER, "customer")
}

/// Times `requests` GETs of the paths `path(i)` as `user(i)`, one after the other.
pub async fn get_latency(
    client: &reqwest::Client,
    base: &str,
    requests: usize,
    path: impl Fn(usize) -> (String, String),
) -> anyhow::Result<Latency> {
    let mut sample = Vec::with_capacity(requests);
    for i in 0..requests {
        let (path, user) = path(i);
        let started = Instant::now();
        let response = get_as(client, &format!("{base}{path}"), &user)
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.bytes().await?;
        sample.push(started.elapsed());
    }
    Ok(Latency::of(sample))
}

/// The largest document among the menus (all: one per menu item) and the views of `orders`
/// (looked up by id, so that sampling reads no more than it measures), in bytes.
pub async fn largest_document(
    db: &mongodb::Database,
    generation: &str,
    orders: impl Iterator<Item = uuid::Uuid>,
) -> anyhow::Result<usize> {
    use futures::TryStreamExt;
    let size = |document: &Document| -> anyhow::Result<usize> {
        let mut bytes = Vec::new();
        document.to_writer(&mut bytes)?;
        Ok(bytes.len())
    };
    let mut largest = 0;
    let menus: Vec<Document> = db
        .collection::<Document>(&format!("popular_menu_{generation}"))
        .find(doc! {})
        .await?
        .try_collect()
        .await?;
    for menu in &menus {
        largest = largest.max(size(menu)?);
    }
    let views = db.collection::<Document>(&format!("order_view_{generation}"));
    for order_id in orders {
        if let Some(view) = views.find_one(doc! { "_id": order_id.to_string() }).await? {
            largest = largest.max(size(&view)?);
        }
    }
    Ok(largest)
}

/// The database's size as the server reports it (`dbStats`), in MB.
pub async fn database_megabytes(db: &mongodb::Database) -> anyhow::Result<f64> {
    let stats = db.run_command(doc! { "dbStats": 1, "scale": 1 }).await?;
    let bytes = ["totalSize", "storageSize", "dataSize"]
        .iter()
        .find_map(|k| stats.get(*k).and_then(number))
        .unwrap_or(0.0);
    Ok(bytes / 1e6)
}

fn number(value: &mongodb::bson::Bson) -> Option<f64> {
    use mongodb::bson::Bson;
    match value {
        Bson::Double(v) => Some(*v),
        Bson::Int32(v) => Some(f64::from(*v)),
        Bson::Int64(v) => Some(*v as f64),
        _ => None,
    }
}

/// Rows PostgreSQL read by sequential scans of the database's order-view tables (FerretDB's
/// backend), when `FERRETDB_POSTGRES_URL` names it.
pub async fn sequential_rows(pg: Option<&sqlx::PgPool>, database: &str) -> Option<i64> {
    let pg = pg?;
    sqlx::query_scalar(
        "select coalesce(sum(seq_tup_read), 0)::bigint from pg_stat_user_tables
          where schemaname = $1 and relname like 'order\\_view\\_%'",
    )
    .bind(database)
    .fetch_one(pg)
    .await
    .ok()
}
