//! The payment service over HTTP (`POST /payments`), found by name through configuration
//! (`PAYMENT_URL`: a Kubernetes service name in a cluster, localhost locally).

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;
use service_runtime::trace::TraceParent;
use uuid::Uuid;

use super::{ChargeRequest, PaymentError, PaymentOutcome, PaymentPort};

pub struct HttpPayments {
    client: reqwest::Client,
    url: String,
}

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
        let response = self
            .client
            .post(&self.url)
            // The payment is made on behalf of the customer who placed the order.
            .header("x-user-id", &request.customer_id)
            .header("x-user-role", "customer")
            .header("traceparent", TraceParent::current_or_new().child_header())
            .json(&json!({
                "orderId": request.order_id,
                "customerId": request.customer_id,
                "amount": request.amount,
            }))
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
            other => Err(PaymentError::Upstream(other.as_u16())),
        }
    }
}
