//! POSTs each notification as JSON to a configured URL (a messaging gateway, a chat hook).
//! The notification id goes along as `Idempotency-Key`, so the receiver can drop a resend of a
//! call that succeeded but whose answer was lost.

use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use serde_json::json;

use super::{Channel, SendError};
use crate::domain::Notification;

pub struct WebhookChannel {
    client: reqwest::Client,
    url: String,
}

impl WebhookChannel {
    pub fn new(url: &str, timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .context("cannot create the webhook HTTP client")?;
        Ok(Self {
            client,
            url: url.to_owned(),
        })
    }
}

#[async_trait]
impl Channel for WebhookChannel {
    fn name(&self) -> &'static str {
        "webhook"
    }

    async fn send(&self, notification: &Notification) -> Result<(), SendError> {
        let payload = json!({
            "id": notification.id,
            "customerId": notification.customer_id,
            "orderId": notification.order_id,
            "eventType": notification.event_type,
            "message": notification.message,
            "createdAt": notification.created_at,
        });
        let response = self
            .client
            .post(&self.url)
            .header("idempotency-key", notification.id.to_string())
            .json(&payload)
            .send()
            .await
            .map_err(|e| SendError(format!("webhook call failed: {e}")))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(SendError(format!("webhook answered {status}")))
        }
    }
}
