#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = service_runtime::telemetry::init("gateway");
    let settings = gateway::Settings::from_env()?;
    gateway::build(settings).await?.run_until_signal().await
}
