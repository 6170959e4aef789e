#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service_runtime::telemetry::init("gateway");
    let settings = gateway::Settings::from_env()?;
    gateway::build(settings).await?.run_until_signal().await
}
