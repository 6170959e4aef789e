#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = service_runtime::telemetry::init("notification");
    let settings = notification_service::Settings::from_env()?;
    notification_service::build(settings)
        .await?
        .run_until_signal()
        .await
}
