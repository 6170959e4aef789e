#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = service_runtime::telemetry::init("order");
    let settings = order_service::Settings::from_env()?;
    order_service::build(settings)
        .await?
        .run_until_signal()
        .await
}
