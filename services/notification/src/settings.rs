//! Configuration, from the environment.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `PORT` | `8085` | HTTP port (and the shared service variables, see `backbone::ServiceSettings`) |
//! | `NOTIFICATION_LOCALE` | `ko` | language of the messages: `ko` or `en` |
//! | `NOTIFICATION_CHANNEL` | `log` | where messages go: `log` or `webhook` |
//! | `NOTIFICATION_WEBHOOK_URL` | none | the URL the `webhook` channel POSTs to (required for it) |
//! | `NOTIFICATION_WEBHOOK_TIMEOUT_MS` | `3000` | a webhook call taking longer counts as failed |
//! | `NOTIFICATION_MAX_ATTEMPTS` | `8` | sends tried per notification before it stays Failed |
//! | `NOTIFICATION_RETRY_BACKOFF_MS` | `1000` | wait after the first failure, doubled each time |
//! | `NOTIFICATION_RETRY_MAX_BACKOFF_MS` | `300000` | cap of that wait |

use std::time::Duration;

use anyhow::Context;
use backbone::ServiceSettings;
use service_runtime::retry::Backoff;
use service_runtime::settings::{ports, string, var};

use crate::domain::Locale;

#[derive(Debug, Clone)]
pub struct Settings {
    pub service: ServiceSettings,
    pub locale: Locale,
    pub channel: ChannelSettings,
    pub retry: RetrySettings,
}

/// Which channel sends the messages.
#[derive(Debug, Clone)]
pub enum ChannelSettings {
    Log,
    Webhook { url: String, timeout: Duration },
}

/// How the dispatcher retries failed sends.
#[derive(Debug, Clone, Copy)]
pub struct RetrySettings {
    pub max_attempts: i32,
    /// The wait after each failed send.
    pub backoff: Backoff,
}

/// The defaults of the `NOTIFICATION_*` retry variables.
pub const NOTIFICATION_MAX_ATTEMPTS: i32 = 8;
pub const NOTIFICATION_RETRY_BACKOFF_MS: u64 = 1000;
pub const NOTIFICATION_RETRY_MAX_BACKOFF_MS: u64 = 300_000;

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            max_attempts: NOTIFICATION_MAX_ATTEMPTS,
            backoff: Backoff::new(
                Duration::from_millis(NOTIFICATION_RETRY_BACKOFF_MS),
                Duration::from_millis(NOTIFICATION_RETRY_MAX_BACKOFF_MS),
            ),
        }
    }
}

impl RetrySettings {
    /// The wait before attempt `attempts + 1`, after `attempts` failed ones.
    pub fn backoff(&self, attempts: i32) -> Duration {
        self.backoff.delay(u32::try_from(attempts).unwrap_or(0))
    }
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        let channel = match string("NOTIFICATION_CHANNEL", "log").as_str() {
            "log" => ChannelSettings::Log,
            "webhook" => ChannelSettings::Webhook {
                url: std::env::var("NOTIFICATION_WEBHOOK_URL")
                    .context("NOTIFICATION_WEBHOOK_URL is required for the webhook channel")?,
                timeout: Duration::from_millis(var("NOTIFICATION_WEBHOOK_TIMEOUT_MS", 3000)?),
            },
            other => anyhow::bail!("NOTIFICATION_CHANNEL={other:?} is not log or webhook"),
        };
        Ok(Self {
            service: ServiceSettings::from_env("notification", ports::NOTIFICATION)?,
            locale: var("NOTIFICATION_LOCALE", Locale::Ko)?,
            channel,
            retry: RetrySettings {
                max_attempts: var("NOTIFICATION_MAX_ATTEMPTS", NOTIFICATION_MAX_ATTEMPTS)?,
                backoff: Backoff::new(
                    Duration::from_millis(var(
                        "NOTIFICATION_RETRY_BACKOFF_MS",
                        NOTIFICATION_RETRY_BACKOFF_MS,
                    )?),
                    Duration::from_millis(var(
                        "NOTIFICATION_RETRY_MAX_BACKOFF_MS",
                        NOTIFICATION_RETRY_MAX_BACKOFF_MS,
                    )?),
                ),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let retry = RetrySettings {
            max_attempts: 5,
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_millis(500)),
        };
        let waits: Vec<_> = (1..=5).map(|a| retry.backoff(a).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 500, 500]);
    }
}
