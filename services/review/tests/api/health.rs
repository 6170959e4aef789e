use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn live_ready_and_metrics_answer_and_unknown_routes_are_problem_json() {
    let app = spawn_app().await;

    let live = app.app.get("/health/live").send().await.unwrap();
    let ready = app.app.get("/health/ready").send().await.unwrap();
    let metrics = app.app.get("/metrics").send().await.unwrap();
    let nowhere = app.app.get("/nowhere").send().await.unwrap();

    assert_eq!(live.status(), StatusCode::OK);
    assert_eq!(ready.status(), StatusCode::OK);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["database"], "ok");
    assert_eq!(body["checks"]["kafka"], "ok");
    assert_eq!(metrics.status(), StatusCode::OK);
    assert_eq!(nowhere.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        nowhere.headers()["content-type"],
        "application/problem+json"
    );
    app.finish().await;
}
