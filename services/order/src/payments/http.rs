//! The payment service over HTTP (`POST /payments`), found by name through configuration
//! (`PAYMENT_URL`: a Kubernetes service name in a cluster, localhost locally).
//!
//! The call carries the time it has left (`x-request-budget-ms`): the payment service refuses
//! a call that cannot finish in time rather than work for an answer nobody waits for. One call
//! is one try: whether to ask again is the resilience policy's decision
//! ([`super::Resilient`]), which sees every try.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;
use service_runtime::admission::{REFUSED_HEADER, Refusal};
use service_runtime::deadline::{self, Deadline};
use service_runtime::trace;
use uuid::Uuid;

use super::{ChargeRequest, PaymentError, PaymentOutcome, PaymentPort};

pub struct HttpPayments {
    client: reqwest::Client,
    url: String,
}

/// The time the answer needs to come back: payment is told it has this much less than the call.
const REPLY_RESERVE: Duration = Duration::from_millis(10);

impl HttpPayments {
    pub fn new(base_url: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(500))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            client,
            url: format!("{}/payments", base_url.trim_end_matches('/')),
        })
    }
}

#[derive(Deserialize)]
struct PaymentBody {
    id: Uuid,
    status: String,
}

#[async_trait]
impl PaymentPort for HttpPayments {
    async fn charge(&self, request: &ChargeRequest) -> Result<PaymentOutcome, PaymentError> {
        let mut call = self
            .client
            .post(&self.url)
            // The payment is made on behalf of the customer who placed the order.
            .header("x-user-id", &request.customer_id)
            .header("x-user-role", "customer")
            .header(trace::HEADER, trace::current())
            .json(&body(request));
        if let Some(deadline) = Deadline::current() {
            call = call.header(deadline::HEADER, deadline.header_value(REPLY_RESERVE));
        }
        let response = call
            .send()
            .await
            .map_err(|e| PaymentError::Unreachable(e.to_string()))?;
        match response.status() {
            StatusCode::OK | StatusCode::CREATED => {
                let body: PaymentBody = response
                    .json()
                    .await
                    .map_err(|e| PaymentError::Unreachable(format!("unreadable answer: {e}")))?;
                // An existing payment may have been refunded meanwhile (the order was given up
                // and canceled): that is no approval to place the order on.
                if body.status != "Approved" {
                    return Err(PaymentError::Upstream(StatusCode::CONFLICT.as_u16()));
                }
                Ok(PaymentOutcome::Approved {
                    payment_id: body.id,
                })
            }
            StatusCode::PAYMENT_REQUIRED => Ok(PaymentOutcome::Declined),
            // Refused at payment's door for lack of time: the request's time is running out.
            StatusCode::SERVICE_UNAVAILABLE
                if response
                    .headers()
                    .get(REFUSED_HEADER)
                    .is_some_and(|v| v == Refusal::Deadline.as_str()) =>
            {
                Err(PaymentError::DeadlineExceeded)
            }
            other => Err(PaymentError::Upstream(other.as_u16())),
        }
    }
}

/// The charge as `POST /payments` takes it: a top-up names its change.
fn body(request: &ChargeRequest) -> serde_json::Value {
    let mut body = json!({
        "orderId": request.order_id,
        "customerId": request.customer_id,
        "amount": request.amount,
    });
    if let Some(change_id) = request.change_id {
        body["changeId"] = json!(change_id);
    }
    body
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
