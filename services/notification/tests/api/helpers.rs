use std::time::Duration;

use backbone::KafkaSettings;
use notification_service::Settings;
use notification_service::domain::Locale;
use notification_service::settings::{ChannelSettings, RetrySettings};
use serde_json::Value;
use shared_events::Envelope;
use test_stack::{AsUser, RunningApp, TestDatabase};

pub struct TestApp {
    pub app: RunningApp,
    pub db: TestDatabase,
    pub kafka: KafkaSettings,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(ChannelSettings::Log, Locale::Ko).await
}

pub async fn spawn_app_with(channel: ChannelSettings, locale: Locale) -> TestApp {
    let db = TestDatabase::create().await;
    let kafka = test_stack::kafka("notification").await;
    let settings = Settings {
        service: test_stack::service_settings(&db, &kafka),
        locale,
        channel,
        retry: RetrySettings {
            max_attempts: 10,
            backoff: service_runtime::retry::Backoff::new(
                Duration::from_millis(50),
                Duration::from_millis(400),
            ),
        },
    };
    let app = RunningApp::start(notification_service::build(settings).await.unwrap()).await;
    TestApp { app, db, kafka }
}

impl TestApp {
    /// Publishes `envelope` on its topic, as its producer would.
    pub async fn publish(&self, envelope: &Envelope) {
        let topic = envelope.event.topic();
        test_stack::send_raw(&self.kafka, topic, &envelope.key(), &envelope.to_bytes()).await;
    }

    pub async fn publish_all(&self, envelopes: &[Envelope]) {
        for envelope in envelopes {
            self.publish(envelope).await;
        }
    }

    pub async fn notifications(&self, user: &str, role: &str) -> Vec<Value> {
        let response = self
            .app
            .get("/notifications")
            .as_user(user, role)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Waits until the customer `user` has `count` notifications, all with `status`, and
    /// returns them.
    pub async fn wait_for(&self, user: &str, count: usize, status: &str) -> Vec<Value> {
        self.wait_for_as(user, "customer", count, status).await
    }

    /// Waits until `user`, signed in as `role`, has `count` notifications, all with `status`,
    /// and returns them.
    pub async fn wait_for_as(
        &self,
        user: &str,
        role: &str,
        count: usize,
        status: &str,
    ) -> Vec<Value> {
        test_stack::eventually(
            Duration::from_secs(30),
            &format!("{count} {status} notifications of {user}"),
            || async {
                let all = self.notifications(user, role).await;
                (all.len() == count && all.iter().all(|n| n["status"] == status)).then_some(all)
            },
        )
        .await
    }

    pub async fn finish(self) {
        self.app.stop().await;
        self.db.drop().await;
    }
}
