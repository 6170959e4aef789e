//! The problem+json errors as gRPC statuses, for the gRPC front of a service and for the
//! gateway's refusals of gRPC calls: the same stable code and detail, under the status code
//! that means what the HTTP status means (docs/grpc.md has the table).

use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Code, Status};

use crate::Problem;

/// Metadata that carries the problem's stable code (`invalid_transition`, `payment_declined`…).
pub const PROBLEM_CODE: &str = "problem-code";
/// Metadata that carries `Retry-After` (seconds), where REST sends that header.
pub const RETRY_AFTER: &str = "retry-after";

/// The status that says what `problem` says in REST.
pub fn status(problem: Problem) -> Status {
    let code = match problem.status.as_u16() {
        400 | 413 | 422 => Code::InvalidArgument,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::NotFound,
        // Another attempt holds the order: retrying is the answer.
        409 if problem.code == "order_in_progress" => Code::Aborted,
        // A declined payment, too late to cancel, no version named: not in a state that allows
        // it.
        402 | 409 | 428 => Code::FailedPrecondition,
        // Changed since the caller read it: a concurrency conflict, read again and retry.
        412 => Code::Aborted,
        429 => Code::ResourceExhausted,
        503 => Code::Unavailable,
        504 => Code::DeadlineExceeded,
        _ => Code::Internal,
    };
    let mut metadata = MetadataMap::new();
    metadata.insert(PROBLEM_CODE, MetadataValue::from_static(problem.code));
    if let Some(seconds) = problem.retry_after {
        metadata.insert(RETRY_AFTER, MetadataValue::from(seconds));
    }
    Status::with_metadata(code, problem.detail, metadata)
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    #[test]
    fn a_problem_keeps_its_code_detail_and_retry_after() {
        let status = status(Problem::unavailable("payment_unavailable", "later", 5));
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(status.message(), "later");
        assert_eq!(
            status.metadata().get(PROBLEM_CODE).map(|v| v.to_str().ok()),
            Some(Some("payment_unavailable"))
        );
        assert_eq!(
            status.metadata().get(RETRY_AFTER).map(|v| v.to_str().ok()),
            Some(Some("5"))
        );
    }

    #[test]
    fn each_http_status_has_its_grpc_code() {
        let code = |http: u16, problem_code: &'static str| {
            let http = StatusCode::from_u16(http).unwrap_or(StatusCode::IM_A_TEAPOT);
            status(Problem::new(http, problem_code, "")).code()
        };
        assert_eq!(code(400, "malformed_body"), Code::InvalidArgument);
        assert_eq!(code(422, "quantity_out_of_range"), Code::InvalidArgument);
        assert_eq!(code(401, "unauthorized"), Code::Unauthenticated);
        assert_eq!(code(403, "forbidden"), Code::PermissionDenied);
        assert_eq!(code(404, "not_found"), Code::NotFound);
        assert_eq!(code(402, "payment_declined"), Code::FailedPrecondition);
        assert_eq!(code(409, "invalid_transition"), Code::FailedPrecondition);
        assert_eq!(code(409, "order_in_progress"), Code::Aborted);
        assert_eq!(code(412, "stale_version"), Code::Aborted);
        assert_eq!(code(428, "precondition_required"), Code::FailedPrecondition);
        assert_eq!(code(429, "rate_limited"), Code::ResourceExhausted);
        assert_eq!(code(503, "overloaded"), Code::Unavailable);
        assert_eq!(code(500, "internal"), Code::Internal);
    }
}
