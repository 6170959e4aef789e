//! Configuration, from the environment.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `PORT` | `8084` | HTTP port (and the shared service variables, see `backbone::ServiceSettings`) |

use backbone::ServiceSettings;

#[derive(Debug, Clone)]
pub struct Settings {
    pub service: ServiceSettings,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Self {
            service: ServiceSettings::from_env("delivery", 8084)?,
        })
    }
}
