//! Configuration, from the environment.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `PORT` | `8087` | HTTP port (and the shared service variables, see `backbone::ServiceSettings`) |
//! | `REVIEW_EDIT_WINDOW_MS` | `604800000` | how long after posting its author may edit a review (7 days) |

use std::time::Duration;

use backbone::ServiceSettings;
use service_runtime::settings::{ports, var};

/// The default of `REVIEW_EDIT_WINDOW_MS`: a week.
pub const EDIT_WINDOW_MS: u64 = 7 * 24 * 60 * 60 * 1000;

#[derive(Debug, Clone)]
pub struct Settings {
    pub service: ServiceSettings,
    /// How long after posting its author may edit a review.
    pub edit_window: Duration,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            service: ServiceSettings::from_env("review", ports::REVIEW)?,
            edit_window: Duration::from_millis(var("REVIEW_EDIT_WINDOW_MS", EDIT_WINDOW_MS)?),
        })
    }
}
