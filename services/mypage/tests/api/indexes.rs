//! On the local stack (FerretDB over PostgreSQL) every query mypage makes of its order views is
//! served by an index: the cost of an event or a lookup does not grow with the number of orders.

use std::time::Duration;

use backbone::Position;
use mypage_service::db::Store;
use mypage_service::db::menus::Counter;
use mypage_service::events::{Counts, apply_batch};
use secrecy::ExposeSecret;
use sqlx::PgPool;

use crate::fixtures::Order;
use crate::helpers::{TestApp, spawn_app};

const SEEDED: usize = 2_000;

/// Rows read by sequential scans, and index scans, over the order-view tables of one FerretDB
/// database (a PostgreSQL schema of the same name).
async fn scans(pg: &PgPool, database: &str) -> (i64, i64) {
    sqlx::query_as(
        "select coalesce(sum(seq_tup_read), 0)::bigint, coalesce(sum(idx_scan), 0)::bigint
           from pg_stat_user_tables where schemaname = $1 and relname like 'order\\_view\\_%'",
    )
    .bind(database)
    .fetch_one(pg)
    .await
    .unwrap()
}

async fn is_ferretdb(app: &TestApp) -> bool {
    let store = Store::connect(
        app.settings.mongodb_url.expose_secret(),
        &app.settings.mongodb_database,
    )
    .await
    .unwrap();
    let info = store
        .database()
        .run_command(mongodb::bson::doc! { "buildInfo": 1 })
        .await
        .unwrap();
    info.contains_key("ferretdbVersion")
}

#[tokio::test]
async fn order_views_are_looked_up_and_updated_by_index_never_by_scanning() {
    let app = spawn_app().await;
    if !is_ferretdb(&app).await {
        eprintln!("MONGODB_URL is a MongoDB: it uses its own indexes; nothing to check here");
        return app.finish().await;
    }
    let admin = test_stack::admin_url();
    let ferretdb_url = format!("{}/ferretdb", admin.rsplit_once('/').unwrap().0);
    let pg = PgPool::connect(&ferretdb_url).await.unwrap();

    // Arrange: a few thousand views, folded by the projection's own code.
    let store = Store::connect(
        app.settings.mongodb_url.expose_secret(),
        &app.settings.mongodb_database,
    )
    .await
    .unwrap();
    let views = store.views(&store.generations().await.unwrap().active);
    let placed: Vec<_> = (0..SEEDED)
        .map(|i| Order::new(&format!("customer-{}", i % 50)).placed())
        .collect();
    let live = |_: &shared_events::Envelope, _| Ok(Counts::Yes(Counter::Live));
    for (chunk, events) in placed.chunks(200).enumerate() {
        let batch: Vec<_> = (0_i64..)
            .zip(events)
            .map(|(i, envelope)| {
                let offset = i64::try_from(chunk * 200).unwrap() + i;
                (
                    envelope,
                    Position {
                        partition: 0,
                        offset,
                    },
                )
            })
            .collect();
        apply_batch(&views, &batch, live).await.unwrap();
    }
    let (scanned_before, index_scans_before) = scans(&pg, &app.settings.mongodb_database).await;

    // Act: orders through Kafka and the live consumer, then every kind of read.
    let orders: Vec<Order> = (0..10).map(|_| Order::new("alice")).collect();
    for order in &orders {
        app.publish_all(&order.happy_path()).await;
    }
    for order in &orders {
        let events = order.happy_path().len();
        app.wait_for_view(order.id, "alice", "Delivered", events)
            .await;
    }
    let (_, list) = app.get_json("/mypage/orders", "alice").await;
    assert_eq!(list.as_array().unwrap().len(), orders.len());
    for _ in 0..10 {
        for order in &orders {
            let path = format!("/mypage/orders/{}", order.id);
            assert_eq!(app.get_json(&path, "alice").await.0, 200);
        }
    }

    // Assert: statistics reach the views PostgreSQL shows within its flush interval (≤ 10 s);
    // once the index scans of this test are visible, so is any sequential scan it caused, and
    // a sequential scan is a failure as soon as it shows.
    // At least one index scan per lookup by id.
    let expected_index_scans = index_scans_before + 100;
    let (scanned_after, index_scans_after) = test_stack::eventually(
        Duration::from_secs(60),
        "this test's scans to show in pg_stat_user_tables",
        || async {
            let (scanned, index_scans) = scans(&pg, &app.settings.mongodb_database).await;
            (index_scans >= expected_index_scans || scanned > scanned_before)
                .then_some((scanned, index_scans))
        },
    )
    .await;
    assert_eq!(
        scanned_after - scanned_before,
        0,
        "order views read by sequential scans ({} index scans): is the FerretDB index trigger \
         installed (infra/postgres/ferretdb-indexes.sql) and plan_cache_mode set?",
        index_scans_after - index_scans_before
    );
    app.finish().await;
}
