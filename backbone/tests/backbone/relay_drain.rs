//! How fast one outbox relay drains a backlog (`./dev bench relay`), which is the most one
//! service's outbox can publish however many instances run: the relay works under an advisory
//! lock, one batch at a time. For each batch size the outbox is filled first, with the relay
//! stopped, then the relay is started and timed until every row is marked published.
//!
//! Ignored in the test suite (a measurement, not a check): `./dev bench relay` runs it in
//! release mode. `RELAY_BENCH_ROWS` (20000) rows a run, `RELAY_BENCH_BATCHES` (`50,200,1000`).

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::support::{Stack, events};

/// Rows written per transaction while filling.
const FILL_CHUNK: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: ./dev bench relay"]
async fn one_relay_drains_a_backlog() {
    let rows: usize = service_runtime::settings::var("RELAY_BENCH_ROWS", 20_000).unwrap();
    let batches: Vec<i64> = std::env::var("RELAY_BENCH_BATCHES")
        .unwrap_or_else(|_| "50,200,1000".to_owned())
        .split(',')
        .map(|b| {
            b.trim()
                .parse()
                .expect("RELAY_BENCH_BATCHES: batch sizes, e.g. 50,200")
        })
        .collect();
    println!("| batch | rows | seconds | rows/s | turns | ms a turn |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for batch in batches {
        let stack = Stack::start().await;
        for chunk in events(rows).chunks(FILL_CHUNK) {
            stack.enqueue(chunk).await;
        }
        let shutdown = CancellationToken::new();
        let started = Instant::now();
        let relay = stack.relay_with(|r| r.batch_size = batch, &shutdown);
        while pending(&stack).await > 0 {
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "the relay did not drain {rows} rows in 10 minutes"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let seconds = started.elapsed().as_secs_f64();
        let turns = rows.div_ceil(usize::try_from(batch).unwrap());
        println!(
            "| {batch} | {rows} | {seconds:.2} | {:.0} | {turns} | {:.1} |",
            rows as f64 / seconds,
            seconds * 1000.0 / turns as f64
        );
        shutdown.cancel();
        relay.await.unwrap();
        stack.finish().await;
    }
}

async fn pending(stack: &Stack) -> i64 {
    sqlx::query_scalar("select count(*) from outbox where published_at is null")
        .fetch_one(stack.pool())
        .await
        .unwrap()
}
