//! The chaos suite's two halves (siege/chaos.sh runs the scenarios and injects the faults):
//! a driver that puts orders through their whole life under load and keeps a ledger of every
//! acknowledged step, and a checker that accounts for each of them in every owner's database
//! and in the mypage view. Also the Kafka-side faults: poison messages and group resets.

mod accounting;
mod api;
mod check;
mod db;
mod driver;
mod expect;
mod kafka;
mod ledger;
mod requests;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

const USAGE: &str = "\
usage:
  chaos drive --gateway URL --ledger FILE --orders N --rate PER_S [--scenario NAME]
              [--customers 8] [--seed 1] [--cancel-pct 10] [--reject-pct 5] [--accident-pct 3]
              [--step-timeout-s 120] [--think-ms 100] [--concurrency 64] [--brokers HOST:PORT]
      orders through the gateway at a fixed rate, each taken through its life; every request
      and every acknowledged step in the ledger (JSON lines)
  chaos check --ledger FILE --database-url SERVER_URL --gateway URL [--scenario NAME]
              [--brokers HOST:PORT] [--quiet-timeout-s 120] [--faults FILE] [--poison-sent N]
              [--out FILE]
      waits until every owner's database and the mypage view agree with the ledger (or the
      quiet period ends), prints the accounting; exit status 1 on any loss, duplicate effect or
      view difference
  chaos poison --brokers HOST:PORT [--per-kind 2]
      poison messages (three kinds) on every topic; prints how many were sent
  chaos reset-group --brokers HOST:PORT --group NAME [--since-ms UNIX_MS]
      moves a stopped consumer group back to the beginning (or to a time)
  chaos leader --brokers HOST:PORT
      prints the id of the broker leading the most partitions of the order path's topics, and
      how many it leads
  chaos under-replicated --brokers HOST:PORT
      prints how many partitions have fewer replicas in sync than assigned";

pub async fn run(argv: Vec<String>) -> anyhow::Result<ExitCode> {
    let Some((command, rest)) = argv.split_first() else {
        anyhow::bail!("{USAGE}");
    };
    let mut args = Args::parse(rest)?;
    let code = match command.as_str() {
        "drive" => {
            let api = api::Api::new(&args.string("gateway")?, Duration::from_secs(15))?;
            let ledger = Arc::new(ledger::Writer::create(&PathBuf::from(
                args.string("ledger")?,
            ))?);
            let plan = driver::Plan {
                scenario: args.string_or("scenario", "chaos"),
                orders: args.number("orders", None)?,
                rate: args.number("rate", None)?,
                customers: args.number("customers", Some(8))?,
                seed: args.number("seed", Some(1))?,
                cancel_pct: args.number("cancel-pct", Some(10))?,
                reject_pct: args.number("reject-pct", Some(5))?,
                accident_pct: args.number("accident-pct", Some(3))?,
                step_timeout: Duration::from_secs(args.number("step-timeout-s", Some(120))?),
                think: Duration::from_millis(args.number("think-ms", Some(100))?),
                concurrency: args.number("concurrency", Some(64))?,
                brokers: args.optional("brokers"),
            };
            args.done()?;
            driver::drive(api, plan, ledger).await?;
            ExitCode::SUCCESS
        }
        "check" => {
            let check = check::Check {
                scenario: args.string_or("scenario", "chaos"),
                ledger: PathBuf::from(args.string("ledger")?),
                database_server: args.string("database-url")?,
                gateway: args.string("gateway")?,
                brokers: args.optional("brokers"),
                quiet_timeout: Duration::from_secs(args.number("quiet-timeout-s", Some(120))?),
                faults: args.optional("faults").map(PathBuf::from),
                poison_sent: args
                    .optional("poison-sent")
                    .map(|n| n.parse())
                    .transpose()?,
                out: args.optional("out").map(PathBuf::from),
            };
            args.done()?;
            let report = check::check(check).await?;
            check::print(&report);
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        "poison" => {
            let brokers = args.string("brokers")?;
            let per_kind = args.number("per-kind", Some(2))?;
            args.done()?;
            println!("{}", kafka::poison(&brokers, per_kind).await?);
            ExitCode::SUCCESS
        }
        "reset-group" => {
            let brokers = args.string("brokers")?;
            let group = args.string("group")?;
            let since = args.optional("since-ms").map(|n| n.parse()).transpose()?;
            args.done()?;
            let n = kafka::reset_group(&brokers, &group, since).await?;
            eprintln!("chaos: group {group} reset on {n} partitions");
            ExitCode::SUCCESS
        }
        "leader" => {
            let brokers = args.string("brokers")?;
            args.done()?;
            let (broker, partitions) = kafka::busiest_leader(&brokers)?;
            println!("{broker} {partitions}");
            ExitCode::SUCCESS
        }
        "under-replicated" => {
            let brokers = args.string("brokers")?;
            args.done()?;
            println!("{}", kafka::under_replicated(&brokers)?);
            ExitCode::SUCCESS
        }
        _ => anyhow::bail!("{USAGE}"),
    };
    Ok(code)
}

/// Flags as `--name value` pairs.
struct Args {
    flags: HashMap<String, String>,
}

impl Args {
    fn parse(raw: &[String]) -> anyhow::Result<Self> {
        let mut flags = HashMap::new();
        let mut raw = raw.iter();
        while let Some(flag) = raw.next() {
            let name = flag
                .strip_prefix("--")
                .with_context(|| format!("expected a --flag, found {flag}\n{USAGE}"))?;
            let value = raw
                .next()
                .with_context(|| format!("--{name} needs a value"))?;
            flags.insert(name.to_owned(), value.clone());
        }
        Ok(Self { flags })
    }

    fn optional(&mut self, name: &str) -> Option<String> {
        self.flags.remove(name)
    }

    fn string(&mut self, name: &str) -> anyhow::Result<String> {
        self.optional(name)
            .with_context(|| format!("--{name} is required\n{USAGE}"))
    }

    fn string_or(&mut self, name: &str, default: &str) -> String {
        self.optional(name).unwrap_or_else(|| default.to_owned())
    }

    fn number<T>(&mut self, name: &str, default: Option<T>) -> anyhow::Result<T>
    where
        T: std::str::FromStr,
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        match (self.optional(name), default) {
            (Some(raw), _) => raw
                .parse()
                .with_context(|| format!("--{name} {raw} is not a number")),
            (None, Some(default)) => Ok(default),
            (None, None) => anyhow::bail!("--{name} is required\n{USAGE}"),
        }
    }

    fn done(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.flags.is_empty(),
            "unknown flags: {:?}\n{USAGE}",
            self.flags.keys().collect::<Vec<_>>()
        );
        Ok(())
    }
}
