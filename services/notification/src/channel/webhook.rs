//! POSTs each notification as JSON to a configured URL (a messaging gateway, a chat hook): `id`,
//! `orderId`, `eventType`, `message`, `createdAt` and whom to tell, `customerId` for a customer's,
//! `"recipient": "owner"` and `ownerId` for a store owner's. The notification id goes along as
//! `Idempotency-Key`, so the receiver can drop a resend of a call that succeeded but whose answer
//! was lost.

use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use serde_json::json;

use super::{Channel, SendError};
use crate::domain::{Notification, Recipient};

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
        let mut payload = json!({
            "id": notification.id,
            "orderId": notification.order_id,
            "eventType": notification.event_type,
            "message": notification.message,
            "createdAt": notification.created_at,
        });
        // Whom to tell: a customer's as ever, an owner's under another name, so that a receiver
        // built for customers' messages never sends an owner's to the order's customer.
        match notification.recipient {
            Recipient::Customer => payload["customerId"] = json!(notification.customer_id),
            Recipient::Owner => {
                payload["recipient"] = json!("owner");
                payload["ownerId"] = json!(notification.owner_id);
            }
        }
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

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    use super::*;

    /// An `https://` webhook is called over TLS: the first bytes the receiver gets are a TLS
    /// handshake record (a ClientHello), not a refusal of the scheme before any connection.
    #[tokio::test]
    async fn an_https_webhook_is_called_over_tls() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "https://localhost:{}/hook",
            listener.local_addr().unwrap().port()
        );
        let receiver = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut first = [0u8; 3];
            socket.read_exact(&mut first).await.unwrap();
            first
        });
        let channel = WebhookChannel::new(&url, Duration::from_secs(2)).unwrap();
        let notification = Notification {
            id: uuid::Uuid::now_v7(),
            event_id: uuid::Uuid::now_v7(),
            recipient: Recipient::Customer,
            customer_id: "c-1".into(),
            owner_id: None,
            order_id: uuid::Uuid::now_v7(),
            event_type: "OrderPlaced".into(),
            message: "placed".into(),
            channel: "webhook".into(),
            status: crate::domain::NotificationStatus::Pending,
            attempts: 0,
            created_at: chrono::Utc::now(),
        };

        let sent = channel.send(&notification).await;

        // Content type 22 (handshake), protocol version 3.x.
        let first = tokio::time::timeout(Duration::from_secs(5), receiver)
            .await
            .expect("the webhook was never called: no TLS for https?")
            .unwrap();
        assert_eq!(&first[..2], &[0x16, 0x03]);
        assert!(sent.is_err(), "the receiver closed without answering");
    }
}
