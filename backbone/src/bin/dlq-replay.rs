//! `dlq-replay [CONSUMER]`: republishes dead letters (all, or those of one consumer, e.g.
//! `payment.refunds`) to the topics they came from. Reads the same Kafka variables as the services.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = service_runtime::telemetry::init("dlq-replay");
    let consumer = std::env::args().nth(1);
    let settings = backbone::KafkaSettings::from_env("dlq-replay")?;
    let report = backbone::replay::replay_dead_letters(&settings, consumer.as_deref()).await?;
    tracing::info!(
        replayed = report.replayed,
        skipped = report.skipped,
        "dead letters replayed"
    );
    Ok(())
}
