//! The default channel: writes the message to the service log (what a demo needs, and a safe
//! fallback where no messaging provider is configured).

use async_trait::async_trait;

use super::{Channel, SendError};
use crate::domain::Notification;

pub struct LogChannel;

#[async_trait]
impl Channel for LogChannel {
    fn name(&self) -> &'static str {
        "log"
    }

    async fn send(&self, notification: &Notification) -> Result<(), SendError> {
        tracing::info!(
            notification.id = %notification.id,
            notification.recipient = %notification.recipient,
            order.id = %notification.order_id,
            event.type = %notification.event_type,
            message = %notification.message,
            "notification sent"
        );
        Ok(())
    }
}
