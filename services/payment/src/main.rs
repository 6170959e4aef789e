#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = service_runtime::telemetry::init("payment");
    let settings = payment_service::Settings::from_env()?;
    payment_service::build(settings)
        .await?
        .run_until_signal()
        .await
}
