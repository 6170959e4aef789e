//! The gateway as a customer sees it: a development token, placing an order, reading it back
//! from mypage. Every request goes through the gateway, as real traffic would.

use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use serde_json::json;

/// What every order of a run buys: one item of the store siege/lib.sh `setup` created.
pub struct OrderTemplate {
    pub store_id: String,
    pub menu_item_id: String,
}

#[derive(Clone)]
pub struct Gateway {
    http: reqwest::Client,
    base: String,
}

/// The answer to POST /orders: its status, the order id when it was placed, and the seconds
/// of its Retry-After when it had one.
pub struct Placed {
    pub status: u16,
    pub order_id: Option<String>,
    pub retry_after: Option<u64>,
}

#[derive(Deserialize)]
struct Token {
    #[serde(rename = "accessToken")]
    access_token: String,
}

#[derive(Deserialize)]
struct Order {
    id: String,
}

impl Gateway {
    pub fn new(base: &str, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .pool_max_idle_per_host(10_000)
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    /// A token from the gateway's development endpoint (AUTH_DEV_TOKENS=true).
    pub async fn dev_token(&self, user: &str, role: &str) -> anyhow::Result<String> {
        let token: Token = self
            .http
            .post(format!("{}/auth/dev-token", self.base))
            .json(&json!({ "userId": user, "role": role }))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .with_context(|| format!("no token from {}/auth/dev-token", self.base))?
            .json()
            .await
            .context("a token answer without accessToken")?;
        Ok(token.access_token)
    }

    /// Tokens of `count` customers named `<prefix>-<i>` (at least one): a run's orders are
    /// spread over them, so the gateway's per-user rate limit is shared as real traffic shares it.
    pub async fn customer_tokens(&self, prefix: &str, count: usize) -> anyhow::Result<Vec<String>> {
        let mut tokens = Vec::with_capacity(count.max(1));
        for i in 0..count.max(1) {
            tokens.push(self.dev_token(&format!("{prefix}-{i}"), "customer").await?);
        }
        Ok(tokens)
    }

    /// POST /orders with a key of its own, so no two requests of a run are the same order.
    pub async fn place_order(
        &self,
        token: &str,
        idempotency_key: &str,
        template: &OrderTemplate,
        address: &str,
    ) -> Result<Placed, reqwest::Error> {
        let body = json!({
            "storeId": template.store_id,
            "items": [{ "menuItemId": template.menu_item_id, "quantity": 1 }],
            "deliveryAddress": address,
        });
        let response = self
            .http
            .post(format!("{}/orders", self.base))
            .bearer_auth(token)
            .header("Idempotency-Key", idempotency_key)
            .json(&body)
            .send()
            .await?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.trim().parse().ok());
        let order_id = match status {
            201 => response.json::<Order>().await.ok().map(|o| o.id),
            // Read the rest so the connection can be reused.
            _ => response.bytes().await.map(|_| None)?,
        };
        Ok(Placed {
            status,
            order_id,
            retry_after,
        })
    }

    /// POST /orders/{id}/cancel as its customer: the status, or 0 when no answer came.
    pub async fn cancel_order(&self, token: &str, order_id: &str) -> u16 {
        let request = self
            .http
            .post(format!("{}/orders/{order_id}/cancel", self.base));
        status_of(request.bearer_auth(token)).await
    }

    /// GET /mypage/orders/{id}: its status, or 0 when no answer came.
    pub async fn mypage_order_status(&self, token: &str, order_id: &str) -> u16 {
        let request = self
            .http
            .get(format!("{}/mypage/orders/{order_id}", self.base));
        status_of(request.bearer_auth(token)).await
    }
}

/// Sends `request` and returns the answer's status (0 when none came), its body read to the
/// end so that the connection can be reused.
async fn status_of(request: reqwest::RequestBuilder) -> u16 {
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let _ = response.bytes().await;
            status
        }
        Err(_) => 0,
    }
}
