//! What siege cannot measure, for `./dev bench`: orders at a fixed arrival rate with latencies
//! counted from each request's scheduled start (free of coordinated omission), how long an order
//! takes to show on mypage, and how far the consumer groups lag behind and how fast they catch up.
//! Each command writes one JSON document that siege/report.py turns into the bench table.

mod args;
mod breaker;
mod gateway;
mod lag;
mod open_loop;
mod overload;
mod probe;
mod propagation;
mod stats;

use std::time::Duration;

use anyhow::Context;
use serde::Serialize;
use shared_events::Topics;

use args::Args;
use gateway::{Gateway, OrderTemplate};

const USAGE: &str = "\
usage:
  loadgen open  --gateway URL --store ID --menu-item ID --rate PER_SECOND --duration-s S --out FILE
                [--run ID] [--customers 10] [--samples-per-second 2] [--timeout-s 30]
                [--brokers HOST:PORT --drain-timeout-s 300 --topic-prefix P]
      orders at a fixed arrival rate; latency from each request's scheduled start; a sample of
      the orders followed to mypage; with --brokers, consumer lag when the load ends and the
      time to drain it
  loadgen overload --gateway URL --store ID --menu-item ID --duration-s S --out FILE
                [--capacity ORDERS_PER_S | --measure-s 10 --measure-clients 32]
                [--multipliers 1,2,4] [--recovery-s 20] [--customers 10] [--cancel-rate 2]
                [--run ID] [--timeout-s 30]
      the capacity (given, or measured by a closed loop), then open-loop phases at half of it,
      at each multiple, and at half again: goodput, latency of accepted and refused requests,
      refusals by status, cancellations of earlier orders refused, time to recover
  loadgen breaker --gateway URL --store ID --menu-item ID --payment URL --order URL --out FILE
                [--rate 40] [--healthy-s 5] [--failing-s 12] [--healed-s 10] [--customers 10]
                [--run ID] [--timeout-s 30]
      orders at a fixed rate while payment is healthy, then failing every call, then healthy
      again: the calls the order service's breaker needed to open, what its refusals cost,
      and how soon orders are placed after payment heals
  loadgen probe --gateway URL --store ID --menu-item ID --duration-s S --out FILE
                [--run ID] [--every-ms 500]
      places an order every so often and follows each to mypage (beside another load)
  loadgen lag   --brokers HOST:PORT --out FILE [--drain-timeout-s 300] [--topic-prefix P]
      consumer lag per live group now, then the time until every group has caught up
      (the deployment's topics: shared-events' with --topic-prefix, default TOPIC_PREFIX)";

pub async fn run(argv: Vec<String>) -> anyhow::Result<()> {
    let Some((command, rest)) = argv.split_first() else {
        anyhow::bail!("{USAGE}");
    };
    let mut args = Args::parse(rest)?;
    match command.as_str() {
        "open" => {
            let gateway = gateway(&mut args)?;
            let template = template(&mut args)?;
            let run = args.string_or("run", "bench");
            let plan = open_loop::Plan {
                rate: args.number("rate", None)?,
                duration: seconds(&mut args, "duration-s", f64::NAN)?,
                customers: args.number("customers", Some(10))?,
                samples_per_second: args.number("samples-per-second", Some(2.0))?,
            };
            let watch = match args.optional("brokers") {
                Some(brokers) => Some(watch(&mut args, brokers)?),
                None => None,
            };
            let out = args.string("out")?;
            args.finish()?;
            let report = open_loop::run(&gateway, &template, &run, &plan, watch.as_ref()).await?;
            write(&out, &report)
        }
        "overload" => {
            let gateway = gateway(&mut args)?;
            let template = template(&mut args)?;
            let run = args.string_or("run", "bench");
            let capacity: f64 = args.number("capacity", Some(0.0))?;
            let multipliers = args
                .string_or("multipliers", "1,2,4")
                .split(',')
                .map(|m| m.trim().parse::<f64>())
                .collect::<Result<Vec<_>, _>>()
                .context("--multipliers is a comma-separated list of numbers")?;
            let plan = overload::Plan {
                capacity: (capacity > 0.0).then_some(capacity),
                measure_for: seconds(&mut args, "measure-s", 10.0)?,
                measure_clients: args.number("measure-clients", Some(32))?,
                multipliers,
                duration: seconds(&mut args, "duration-s", f64::NAN)?,
                recovery: seconds(&mut args, "recovery-s", 20.0)?,
                customers: args.number("customers", Some(10))?,
                cancel_rate: args.number("cancel-rate", Some(2.0))?,
            };
            let out = args.string("out")?;
            args.finish()?;
            let report = overload::run(&gateway, &template, &run, &plan).await?;
            write(&out, &report)
        }
        "breaker" => {
            let gateway = gateway(&mut args)?;
            let template = template(&mut args)?;
            let run = args.string_or("run", "bench");
            let plan = breaker::Plan {
                rate: args.number("rate", Some(40.0))?,
                healthy: seconds(&mut args, "healthy-s", 5.0)?,
                failing: seconds(&mut args, "failing-s", 12.0)?,
                healed: seconds(&mut args, "healed-s", 10.0)?,
                customers: args.number("customers", Some(10))?,
                payment_url: args.string("payment")?,
                order_url: args.string("order")?,
            };
            let out = args.string("out")?;
            args.finish()?;
            let report = breaker::run(&gateway, &template, &run, &plan).await?;
            write(&out, &report)
        }
        "probe" => {
            let gateway = Gateway::new(&args.string("gateway")?, Duration::from_secs(30))?;
            let template = template(&mut args)?;
            let run = args.string_or("run", "bench");
            let duration = seconds(&mut args, "duration-s", f64::NAN)?;
            let every = Duration::from_millis(args.number("every-ms", Some(500))?);
            let out = args.string("out")?;
            args.finish()?;
            let report = probe::run(&gateway, &template, &run, duration, every).await?;
            write(&out, &report)
        }
        "lag" => {
            let brokers = args.string("brokers")?;
            let watch = watch(&mut args, brokers)?;
            let out = args.string("out")?;
            args.finish()?;
            let report = lag::drain(&watch).await?;
            write(&out, &report)
        }
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => anyhow::bail!("unknown command {other}\n{USAGE}"),
    }
}

/// The lag flags: the deployment's topic prefix (TOPIC_PREFIX, as the services read it) and how
/// long to wait for the lag to drain.
fn watch(args: &mut Args, brokers: String) -> anyhow::Result<lag::Watch> {
    let prefix = std::env::var("TOPIC_PREFIX").unwrap_or_default();
    Ok(lag::Watch {
        brokers,
        topics: Topics::new(args.string_or("topic-prefix", &prefix)),
        drain_timeout: seconds(args, "drain-timeout-s", 300.0)?,
    })
}

/// The gateway and how long to wait for an answer (`--gateway`, `--timeout-s`).
fn gateway(args: &mut Args) -> anyhow::Result<Gateway> {
    Gateway::new(&args.string("gateway")?, seconds(args, "timeout-s", 30.0)?)
}

fn template(args: &mut Args) -> anyhow::Result<OrderTemplate> {
    Ok(OrderTemplate {
        store_id: args.string("store")?,
        menu_item_id: args.string("menu-item")?,
    })
}

/// A duration flag in seconds; NAN as the default makes the flag required.
fn seconds(args: &mut Args, name: &str, default: f64) -> anyhow::Result<Duration> {
    let value: f64 = args.number(name, (!default.is_nan()).then_some(default))?;
    Duration::try_from_secs_f64(value)
        .with_context(|| format!("--{name} {value} is not a duration"))
}

fn write(path: &str, report: &impl Serialize) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(report)?;
    std::fs::write(path, json + "\n").with_context(|| format!("cannot write {path}"))
}
