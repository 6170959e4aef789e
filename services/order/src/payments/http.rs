//! The payment service over HTTP (`POST /payments`), found by name through configuration
//! (`PAYMENT_URL`: a Kubernetes service name in a cluster, localhost locally).
//!
//! The call carries the time it has left (`x-request-budget-ms`): the payment service refuses
//! a call that cannot finish in time rather than work for an answer nobody waits for. A charge
//! is idempotent (keyed by the order id), so one that did not reach payment (no connection) or
//! that payment refused at its door (`503` with `x-refused: busy`) is made once more, a few
//! milliseconds later, within a retry budget of a tenth of the calls
//! (`service_runtime::retry`): a retry never more than adds a tenth to an overload. A call
//! that reached payment and timed out is not retried: payment may still be working on it, and
//! the repair settles it.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;
use service_runtime::admission::{REFUSED_HEADER, Refusal};
use service_runtime::deadline::{self, Deadline};
use service_runtime::retry::RetryPolicy;
use service_runtime::trace;
use uuid::Uuid;

use super::{ChargeRequest, PaymentError, PaymentOutcome, PaymentPort};

pub struct HttpPayments {
    client: reqwest::Client,
    url: String,
    retries: RetryPolicy,
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
            retries: RetryPolicy::new("payment"),
        })
    }
}

#[derive(Deserialize)]
struct PaymentBody {
    id: Uuid,
    status: String,
}

/// Why one try gave no decision.
enum Failed {
    /// Nothing was done: the charge may be made again.
    Retryable(PaymentError),
    Final(PaymentError),
}

impl HttpPayments {
    async fn try_charge(
        &self,
        request: &ChargeRequest,
        deadline: Option<Deadline>,
    ) -> Result<PaymentOutcome, Failed> {
        let mut call = self
            .client
            .post(&self.url)
            // The payment is made on behalf of the customer who placed the order.
            .header("x-user-id", &request.customer_id)
            .header("x-user-role", "customer")
            .header(trace::HEADER, trace::current())
            .json(&body(request));
        if let Some(deadline) = deadline {
            call = call.header(deadline::HEADER, deadline.header_value(REPLY_RESERVE));
        }
        let response = call.send().await.map_err(|e| {
            let error = PaymentError::Unreachable(e.to_string());
            match e.is_connect() {
                true => Failed::Retryable(error),
                false => Failed::Final(error),
            }
        })?;
        match response.status() {
            StatusCode::OK | StatusCode::CREATED => {
                let body: PaymentBody = response.json().await.map_err(|e| {
                    Failed::Final(PaymentError::Unreachable(format!("unreadable answer: {e}")))
                })?;
                // An existing payment may have been refunded meanwhile (the order was given up
                // and canceled): that is no approval to place the order on.
                if body.status != "Approved" {
                    return Err(Failed::Final(PaymentError::Upstream(
                        StatusCode::CONFLICT.as_u16(),
                    )));
                }
                Ok(PaymentOutcome::Approved {
                    payment_id: body.id,
                })
            }
            StatusCode::PAYMENT_REQUIRED => Ok(PaymentOutcome::Declined),
            StatusCode::SERVICE_UNAVAILABLE => {
                let refused = response.headers().get(REFUSED_HEADER);
                let refused_as = |r: Refusal| refused.is_some_and(|v| v == r.as_str());
                Err(if refused_as(Refusal::Busy) {
                    Failed::Retryable(PaymentError::Upstream(503))
                } else if refused_as(Refusal::Deadline) {
                    Failed::Final(PaymentError::DeadlineExceeded)
                } else {
                    Failed::Final(PaymentError::Upstream(503))
                })
            }
            other => Err(Failed::Final(PaymentError::Upstream(other.as_u16()))),
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

#[async_trait]
impl PaymentPort for HttpPayments {
    async fn charge(&self, request: &ChargeRequest) -> Result<PaymentOutcome, PaymentError> {
        let deadline = Deadline::current();
        self.retries.first_attempt();
        let mut attempt = 1;
        loop {
            match self.try_charge(request, deadline).await {
                Ok(outcome) => return Ok(outcome),
                Err(Failed::Final(error)) => return Err(error),
                Err(Failed::Retryable(error)) => {
                    let Some(wait) = self.retries.next_delay(attempt, deadline) else {
                        return Err(error);
                    };
                    tracing::info!(order.id = %request.order_id, %error, attempt,
                        wait_ms = wait.as_millis() as u64, "retrying the charge");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
