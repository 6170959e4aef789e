#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _telemetry = service_runtime::telemetry::init("review");
    let settings = review_service::Settings::from_env()?;
    review_service::build(settings)
        .await?
        .run_until_signal()
        .await
}
