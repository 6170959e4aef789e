//! What this client relies on in the payment service's `POST /payments`, written down as data:
//! the request it sends for a charge, and for each situation the status and the fields of the
//! answer it reads. Held both ways, like a Pact: the tests below play the payment service's part
//! from these interactions and check this client against them; the contracts crate replays them
//! against the real payment service (`contracts/tests/contracts/payment.rs`).

use serde_json::{Value, json};
use uuid::Uuid;

use super::{ChargeRequest, PaymentOutcome};

/// Where the client sends a charge, on the payment service's base URL.
pub const PATH: &str = "/payments";

/// What the payment service must be configured with for [`INTERACTIONS`]: amounts above it are
/// declined.
pub const DECLINE_ABOVE: i64 = 1_000_000;

/// Request headers whose values change from call to call; only their presence is relied on.
pub const VARYING_HEADERS: &[&str] = &["traceparent"];

/// The headers and the JSON body the client sends for `charge`: the customer's identity, which
/// the payment service checks against the body, and the charge itself. The payment service
/// refuses any other body field.
pub fn request(charge: &ChargeRequest) -> (Vec<(&'static str, String)>, Value) {
    let headers = vec![
        ("x-user-id", charge.customer_id.clone()),
        ("x-user-role", "customer".to_owned()),
    ];
    let mut body = json!({
        "orderId": charge.order_id,
        "customerId": charge.customer_id,
        "amount": charge.amount,
    });
    if let Some(change_id) = charge.change_id {
        body["changeId"] = json!(change_id);
    }
    (headers, body)
}

/// What the payment service holds before the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Given {
    Nothing,
    /// The same charge was made before (a retry after a timeout, a repair at start-up).
    AlreadyCharged,
    /// The order was paid; the request is the top-up of a change that made it dearer.
    OrderPaid,
}

/// What the client makes of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// Approved, with the answer's `id` as the payment id.
    Approved,
    Declined,
}

/// One request and the answer the client relies on.
#[derive(Debug, Clone, Copy)]
pub struct Interaction {
    pub name: &'static str,
    pub given: Given,
    /// The charge's amount, in won.
    pub amount: i64,
    pub status: u16,
    /// The answer's fields the client reads (`shared_events::contract` syntax).
    pub reads: &'static [&'static str],
    pub expected: Expected,
}

pub const INTERACTIONS: &[Interaction] = &[
    Interaction {
        name: "a new charge is approved",
        given: Given::Nothing,
        amount: 36_000,
        status: 201,
        reads: &["id: uuid", "status = Approved"],
        expected: Expected::Approved,
    },
    Interaction {
        name: "a repeated charge answers with the first payment",
        given: Given::AlreadyCharged,
        amount: 36_000,
        status: 200,
        reads: &["id: uuid", "status = Approved"],
        expected: Expected::Approved,
    },
    Interaction {
        name: "a change's top-up of a paid order is approved",
        given: Given::OrderPaid,
        amount: 4_000,
        status: 201,
        reads: &["id: uuid", "status = Approved"],
        expected: Expected::Approved,
    },
    Interaction {
        name: "a charge above the limit is declined",
        given: Given::Nothing,
        amount: DECLINE_ABOVE + 1,
        status: 402,
        reads: &[],
        expected: Expected::Declined,
    },
];

impl Interaction {
    /// The charge this interaction sends for a new order; `paid_first` is the order's own
    /// payment, to make before it when the interaction's order was paid.
    pub fn charge(&self, customer_id: &str) -> (ChargeRequest, Option<ChargeRequest>) {
        let order = ChargeRequest {
            order_id: Uuid::now_v7(),
            customer_id: customer_id.to_owned(),
            amount: self.amount,
            change_id: None,
        };
        match self.given {
            Given::Nothing => (order, None),
            Given::AlreadyCharged => (order.clone(), Some(order)),
            Given::OrderPaid => {
                let top_up = ChargeRequest {
                    change_id: Some(Uuid::now_v7()),
                    ..order.clone()
                };
                let paid = ChargeRequest {
                    amount: 36_000,
                    ..order
                };
                (top_up, Some(paid))
            }
        }
    }
}

impl Expected {
    /// Whether `outcome` is this, the payment id being the answer's `id`.
    pub fn matches(self, outcome: &PaymentOutcome, answer: &Value) -> bool {
        match (self, outcome) {
            (Expected::Approved, PaymentOutcome::Approved { payment_id }) => {
                answer["id"] == payment_id.to_string()
            }
            (Expected::Declined, PaymentOutcome::Declined) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
