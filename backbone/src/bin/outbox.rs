//! `outbox list | retry (EVENT_ID... | --all) | drop (EVENT_ID... | --all)`: the parked rows of
//! one service's outbox, read and acted on in the database named by `DATABASE_URL` (`./dev outbox`
//! runs it for each service). The service's admin routes do the same over HTTP.

use anyhow::Context;
use backbone::parked::{self, Selection};
use uuid::Uuid;

const USAGE: &str = "usage: outbox list | retry (EVENT_ID... | --all) | drop (EVENT_ID... | --all)";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = args.split_first().context(USAGE)?;
    let url = std::env::var("DATABASE_URL").context("DATABASE_URL names the service's database")?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .context("cannot connect to the database")?;
    match command.as_str() {
        "list" => {
            anyhow::ensure!(rest.is_empty(), USAGE);
            for row in parked::list(&pool).await? {
                println!(
                    "{}\t{}\t{}\t{}\tkey={}\tattempts={}\tcreated={}\tparked={}",
                    row.seq,
                    row.event_id,
                    row.event_type,
                    row.topic,
                    row.message_key,
                    row.attempts,
                    row.created_at.to_rfc3339(),
                    row.parked_at.to_rfc3339(),
                );
            }
        }
        "retry" => {
            for id in parked::retry(&pool, &selection(rest)?).await? {
                println!("retried\t{id}");
            }
        }
        "drop" => {
            for id in parked::drop(&pool, &selection(rest)?).await? {
                println!("dropped\t{id}");
            }
        }
        _ => anyhow::bail!(USAGE),
    }
    Ok(())
}

/// `--all`, or event ids: an action names its rows.
fn selection(args: &[String]) -> anyhow::Result<Selection> {
    match args {
        [] => anyhow::bail!("name the rows: EVENT_ID... or --all ({USAGE})"),
        [all] if all == "--all" => Ok(Selection::All),
        ids => Ok(Selection::Events(
            ids.iter()
                .map(|id| {
                    id.parse::<Uuid>()
                        .with_context(|| format!("{id:?} is not an event id"))
                })
                .collect::<anyhow::Result<_>>()?,
        )),
    }
}
