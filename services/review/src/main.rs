#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service_runtime::telemetry::init("review");
    let settings = review_service::Settings::from_env()?;
    review_service::build(settings)
        .await?
        .run_until_signal()
        .await
}
