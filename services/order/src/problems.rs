//! How the use cases' outcomes read to a caller, whichever inbound adapter it came through: a
//! problem (status, stable code, detail, `Retry-After`), which REST sends as problem+json and
//! gRPC as a status code with the same code and detail. One place, so the two cannot drift.

use axum::http::StatusCode;
use service_runtime::Problem;

use crate::domain::Order;
use crate::payments::PaymentError;
use crate::use_cases::{Modification, OrderError, Placement};

impl From<OrderError> for Problem {
    fn from(e: OrderError) -> Self {
        match e {
            OrderError::Invalid(invalid) => {
                Problem::unprocessable(invalid.code(), invalid.to_string())
            }
            OrderError::NotFound => Problem::not_found("no such order"),
            OrderError::Transition(t) => Problem::conflict("invalid_transition", t.to_string()),
            stale @ OrderError::Stale { .. } => Problem::new(
                StatusCode::PRECONDITION_FAILED,
                "stale_version",
                stale.to_string(),
            ),
            reused @ OrderError::KeyReused(_) => {
                Problem::unprocessable("idempotency_key_reused", reused.to_string())
            }
            // A pool with no connection to give in time is overload (503), anything else a 500.
            OrderError::Database(e) => service_runtime::problem::database_error(e),
        }
    }
}

/// The order if it was placed (and paid), otherwise the problem that says why not.
/// `retry_after`: seconds a client should wait when payment is unavailable.
pub fn placed(placement: Placement, retry_after: u64) -> Result<Order, Problem> {
    match placement {
        Placement::Placed(order) => Ok(order),
        Placement::Declined(order) => Err(Problem::new(
            StatusCode::PAYMENT_REQUIRED,
            "payment_declined",
            format!(
                "the payment of {} won for order {} was declined",
                order.total_price, order.id
            ),
        )),
        Placement::Unavailable(order, reason) => {
            tracing::warn!(order.id = %order.id, reason = %reason, "order failed: payment unavailable");
            Err(unavailable(&reason, retry_after))
        }
        Placement::Refused(reason) => {
            tracing::debug!(reason = %reason, "order refused before it was stored");
            Err(unavailable(&reason, retry_after))
        }
        Placement::InProgress(order) => Err(Problem::conflict(
            "order_in_progress",
            format!(
                "order {} with this Idempotency-Key is still being paid",
                order.id
            ),
        )
        .with_retry_after(1)),
    }
}

/// The changed order if the change was made (or there was nothing to change), otherwise the
/// problem that says why not.
pub fn changed(modification: Modification, retry_after: u64) -> Result<Order, Problem> {
    match modification {
        Modification::Changed(order) => Ok(order),
        Modification::Declined { order, top_up } => Err(Problem::new(
            StatusCode::PAYMENT_REQUIRED,
            "payment_declined",
            format!(
                "the payment of {top_up} won more for order {} was declined; the order is unchanged",
                order.id
            ),
        )),
        Modification::Unavailable(reason) | Modification::Refused(reason) => {
            Err(unavailable(&reason, retry_after))
        }
    }
}

/// 428: a change names no version to be made from.
pub fn version_required() -> Problem {
    Problem::new(
        StatusCode::PRECONDITION_REQUIRED,
        "precondition_required",
        "a change names the order's version it was made from: send If-Match with it",
    )
}

/// 503: an open breaker asks the caller to come back when it probes again, a full bulkhead in
/// a second.
fn unavailable(reason: &PaymentError, retry_after: u64) -> Problem {
    let retry_after = match reason {
        PaymentError::Saturated => 1,
        _ => retry_after,
    };
    Problem::unavailable(
        "payment_unavailable",
        "payment is unavailable right now; nothing was charged, please try again shortly",
        retry_after,
    )
}

/// The longest `Idempotency-Key`.
const MAX_IDEMPOTENCY_KEY: usize = 200;

/// An idempotency key, trimmed; 400 unless it is 1 to 200 visible ASCII characters (what a
/// header value may hold, spaces and tabs inside).
pub fn idempotency_key(raw: &str) -> Result<&str, Problem> {
    Some(raw.trim())
        .filter(|k| !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY)
        .filter(|k| k.chars().all(|c| c == '\t' || (' '..='~').contains(&c)))
        .ok_or_else(|| {
            Problem::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 200 visible characters",
            )
        })
}
