//! Configuration, from the environment.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `PORT` | `8083` | HTTP port (and the shared service variables, see `backbone::ServiceSettings`) |

use backbone::ServiceSettings;
use service_runtime::settings::ports;

#[derive(Debug, Clone)]
pub struct Settings {
    pub service: ServiceSettings,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            service: ServiceSettings::from_env("store", ports::STORE)?,
        })
    }
}
