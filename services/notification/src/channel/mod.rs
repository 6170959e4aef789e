//! Where notifications go. Every channel implements [`Channel`]; the dispatcher knows nothing
//! else about them, so a new channel (KakaoTalk, Slack) is a new module plus one line in
//! [`from_settings`].

mod log;
mod webhook;

pub use log::LogChannel;
pub use webhook::WebhookChannel;

use async_trait::async_trait;

use crate::domain::Notification;
use crate::settings::ChannelSettings;

/// Why a send failed; the dispatcher retries it later.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SendError(pub String);

/// A way to deliver a notification to its customer.
#[async_trait]
pub trait Channel: Send + Sync + 'static {
    /// Stored on each notification sent through it, e.g. `webhook`.
    fn name(&self) -> &'static str;
    /// Delivers `notification`. May be called again for the same one after a failure, so a
    /// channel passes the notification id along for the receiver to deduplicate on.
    async fn send(&self, notification: &Notification) -> Result<(), SendError>;
}

/// The channel the settings ask for.
pub fn from_settings(settings: &ChannelSettings) -> anyhow::Result<Box<dyn Channel>> {
    Ok(match settings {
        ChannelSettings::Log => Box::new(LogChannel),
        ChannelSettings::Webhook { url, timeout } => Box::new(WebhookChannel::new(url, *timeout)?),
    })
}
