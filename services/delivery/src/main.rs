#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = service_runtime::telemetry::init("delivery");
    let settings = delivery_service::Settings::from_env()?;
    delivery_service::build(settings)
        .await?
        .run_until_signal()
        .await
}
