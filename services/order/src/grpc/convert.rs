//! Between the protos' messages and the service's own types, and from a problem to a status.
//! Ids travel as strings: one that is not a UUID is `INVALID_ARGUMENT`, as a malformed JSON
//! body is a 400 in REST.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
pub use service_runtime::grpc::status;
use service_runtime::{Identity, Problem};
use tonic::Status;
use uuid::Uuid;

use super::proto;
use crate::domain::{Order, OrderStatus};

/// The caller the gateway named in the request's metadata (`x-user-id`, `x-user-role`).
pub fn caller<T>(request: &tonic::Request<T>) -> Result<Identity, Status> {
    Identity::from_headers(&request.metadata().clone().into_headers()).map_err(status)
}

/// A UUID field of a request.
pub fn uuid(field: &str, value: &str) -> Result<Uuid, Status> {
    Uuid::parse_str(value.trim()).map_err(|_| {
        status(Problem::bad_request(
            "malformed_body",
            format!("{field} must be a UUID"),
        ))
    })
}

/// Text never holds U+0000 (PostgreSQL stores it nowhere), as REST's JSON bodies.
pub fn text(value: String) -> Result<String, Status> {
    if value.contains('\0') {
        return Err(status(Problem::bad_request(
            "malformed_body",
            "text must not contain the character U+0000",
        )));
    }
    Ok(value)
}

pub fn timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

pub fn order_status(status: OrderStatus) -> proto::OrderStatus {
    use proto::OrderStatus as P;
    match status {
        OrderStatus::PaymentPending => P::PaymentPending,
        OrderStatus::PaymentDeclined => P::PaymentDeclined,
        OrderStatus::PaymentFailed => P::PaymentFailed,
        OrderStatus::Placed => P::Placed,
        OrderStatus::Accepted => P::Accepted,
        OrderStatus::Cooking => P::Cooking,
        OrderStatus::Cooked => P::Cooked,
        OrderStatus::Delivering => P::Delivering,
        OrderStatus::Delivered => P::Delivered,
        OrderStatus::Canceled => P::Canceled,
    }
}

impl From<Order> for proto::Order {
    fn from(o: Order) -> Self {
        Self {
            id: o.id.to_string(),
            customer_id: o.customer_id,
            store_id: o.store_id.to_string(),
            items: o
                .items
                .into_iter()
                .map(|line| proto::OrderLine {
                    menu_item_id: line.menu_item_id.to_string(),
                    name: line.name,
                    quantity: line.quantity,
                    unit_price: line.unit_price,
                })
                .collect(),
            total_price: o.total_price,
            delivery_address: o.delivery_address,
            status: order_status(o.status).into(),
            cancel_reason: o.cancel_reason.map(|r| r.as_str().to_owned()),
            payment_id: o.payment_id.map(|id| id.to_string()),
            created_at: Some(timestamp(o.created_at)),
            updated_at: Some(timestamp(o.updated_at)),
            version: o.version,
        }
    }
}

impl From<&Order> for proto::OrderStatusChange {
    fn from(o: &Order) -> Self {
        Self {
            order_id: o.id.to_string(),
            status: order_status(o.status).into(),
            cancel_reason: o.cancel_reason.map(|r| r.as_str().to_owned()),
            updated_at: Some(timestamp(o.updated_at)),
        }
    }
}
