#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = service_runtime::telemetry::init("store");
    let settings = store_service::Settings::from_env()?;
    store_service::build(settings)
        .await?
        .run_until_signal()
        .await
}
