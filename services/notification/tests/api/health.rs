use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn live_and_ready_answer_with_database_and_kafka_checked() {
    let app = spawn_app().await;

    let live = app.app.get("/health/live").send().await.unwrap();
    let ready = app.app.get("/health/ready").send().await.unwrap();

    assert_eq!(live.status(), StatusCode::OK);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(body["checks"]["kafka"], "ok");
    app.finish().await;
}

#[tokio::test]
async fn notifications_need_an_identity() {
    let app = spawn_app().await;

    let response = app.app.get("/notifications").send().await.unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    app.finish().await;
}
