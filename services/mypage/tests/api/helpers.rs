use std::time::Duration;

use backbone::KafkaSettings;
use mypage_service::Settings;
use serde_json::Value;
use shared_events::Envelope;
use test_stack::{AsUser, RunningApp};
use uuid::Uuid;

pub struct TestApp {
    pub app: RunningApp,
    pub settings: Settings,
}

pub fn mongodb_url() -> String {
    std::env::var("MONGODB_URL").unwrap_or_else(|_| "mongodb://127.0.0.1:27017".to_owned())
}

/// Settings with a Mongo database and topic prefix of their own.
pub async fn test_settings() -> Settings {
    let kafka: KafkaSettings = test_stack::kafka("mypage").await;
    Settings {
        http: service_runtime::settings::HttpSettings::loopback(),
        kafka,
        mongodb_url: mongodb_url().into(),
        mongodb_database: format!("test_{}", Uuid::new_v4().simple()),
        request_timeout: Duration::from_secs(10),
        admission: test_stack::admission(),
        remembered: Default::default(),
    }
}

pub async fn spawn_app() -> TestApp {
    start(test_settings().await).await
}

pub async fn start(settings: Settings) -> TestApp {
    let app = RunningApp::start(mypage_service::build(settings.clone()).await.unwrap()).await;
    TestApp { app, settings }
}

pub async fn publish(settings: &Settings, envelope: &Envelope) {
    let topic = envelope.event.topic();
    test_stack::send_raw(
        &settings.kafka,
        topic,
        &envelope.key(),
        &envelope.to_bytes(),
    )
    .await;
}

impl TestApp {
    pub async fn publish_all(&self, envelopes: &[Envelope]) {
        test_stack::publish_events(&self.settings.kafka, envelopes).await;
    }

    pub async fn get_json(&self, path: &str, user: &str) -> (reqwest::StatusCode, Value) {
        let response = self
            .app
            .get(path)
            .as_user(user, "customer")
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Waits until the order's view has `history` entries and `orderStatus`, and returns it.
    pub async fn wait_for_view(
        &self,
        order_id: Uuid,
        user: &str,
        status: &str,
        history: usize,
    ) -> Value {
        let path = format!("/mypage/orders/{order_id}");
        test_stack::eventually(
            Duration::from_secs(30),
            &format!("order {status}"),
            || async {
                let (_, view) = self.get_json(&path, user).await;
                let done =
                    view["orderStatus"] == status && view["history"].as_array()?.len() == history;
                done.then_some(view)
            },
        )
        .await
    }

    pub async fn popular(&self, limit: usize) -> Vec<Value> {
        let (_, body) = self
            .get_json(&format!("/mypage/popular-menus?limit={limit}"), "anyone")
            .await;
        body.as_array().cloned().unwrap_or_default()
    }

    /// Stops the service, keeping its data.
    pub async fn stop(self) -> Settings {
        self.app.stop().await;
        self.settings
    }

    pub async fn finish(self) {
        let settings = self.stop().await;
        drop_database(&settings).await;
    }
}

pub async fn drop_database(settings: &Settings) {
    let client = mongodb::Client::with_uri_str(mongodb_url()).await.unwrap();
    client
        .database(&settings.mongodb_database)
        .drop()
        .await
        .unwrap();
}
