//! `mypage` serves the read model; `mypage rebuild` recomputes it from Kafka's history and
//! swaps it in, then exits.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = service_runtime::telemetry::init("mypage");
    let settings = mypage_service::Settings::from_env()?;
    match std::env::args().nth(1).as_deref() {
        None | Some("serve") => {
            mypage_service::build(settings)
                .await?
                .run_until_signal()
                .await
        }
        Some("rebuild") => {
            let report = mypage_service::rebuild::run(&settings).await?;
            tracing::info!(events = report.events, generation = %report.generation, "rebuild finished");
            Ok(())
        }
        Some(other) => anyhow::bail!("unknown command {other:?}: expected serve or rebuild"),
    }
}
