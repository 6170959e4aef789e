use reqwest::StatusCode;

use crate::helpers::{spawn_app, spawn_app_with_database_url};

#[tokio::test]
async fn live_ready_and_metrics_answer() {
    let app = spawn_app().await;

    let live = app.app.get("/health/live").send().await.unwrap();
    let ready = app.app.get("/health/ready").send().await.unwrap();
    let metrics = app.app.get("/metrics").send().await.unwrap();

    assert_eq!(live.status(), StatusCode::OK);
    assert_eq!(ready.status(), StatusCode::OK);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(body["checks"]["kafka"], "ok");
    assert_eq!(metrics.status(), StatusCode::OK);
    assert!(
        metrics
            .text()
            .await
            .unwrap()
            .contains("http_requests_total")
    );
    app.finish().await;
}

#[tokio::test]
async fn ready_is_503_while_the_database_is_unreachable_and_200_when_it_is_back() {
    // Arrange: the service reaches its database through a proxy we can cut.
    let db = test_stack::TestDatabase::create().await;
    let target = db
        .url
        .split('@')
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let proxy = test_stack::TcpProxy::start(&target).await;
    let via_proxy = db
        .url
        .replace(&target, &format!("127.0.0.1:{}", proxy.port));
    let app = spawn_app_with_database_url(Some(via_proxy)).await;

    // Act + Assert
    proxy.cut();
    test_stack::eventually(std::time::Duration::from_secs(15), "503", || async {
        let status = app.app.get("/health/ready").send().await.ok()?.status();
        (status == StatusCode::SERVICE_UNAVAILABLE).then_some(())
    })
    .await;
    let live = app.app.get("/health/live").send().await.unwrap();
    assert_eq!(
        live.status(),
        StatusCode::OK,
        "alive while its database is not"
    );

    proxy.restore();
    app.app.wait_ready().await;
    app.finish().await;
    db.drop().await;
}

#[tokio::test]
async fn unknown_routes_are_404_problem_json() {
    let app = spawn_app().await;

    let response = app.app.get("/nowhere").send().await.unwrap();

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    app.finish().await;
}
