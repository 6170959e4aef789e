//! The public API through the gateway, as customers, the owner and the rider use it.

use std::time::{Duration, Instant};

use anyhow::Context;
use reqwest::Method;
use serde_json::{Value, json};

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

/// One answer: its status (0 when none came: a connection error or a timeout), whether the
/// request surely never reached a service (the connection could not be made), its body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub unreached: bool,
    pub body: Value,
    pub latency: Duration,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl Api {
    pub fn new(base: &str, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(2))
            .pool_max_idle_per_host(256)
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// A token from the gateway's development endpoint.
    pub async fn token(&self, user: &str, role: &str) -> anyhow::Result<String> {
        let answer = self
            .send(
                Method::POST,
                "/auth/dev-token",
                None,
                Some(json!({ "userId": user, "role": role })),
                None,
            )
            .await;
        answer.body["accessToken"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| {
                format!(
                    "no token from {}/auth/dev-token (answer {})",
                    self.base, answer.status
                )
            })
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        idempotency_key: Option<&str>,
    ) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let started = Instant::now();
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.json().await.unwrap_or(Value::Null);
                Answer {
                    status,
                    unreached: false,
                    body,
                    latency: started.elapsed(),
                }
            }
            Err(e) => Answer {
                status: 0,
                unreached: e.is_connect(),
                body: Value::Null,
                latency: started.elapsed(),
            },
        }
    }
}
