//! `GET /ops/services`, for admins: each service's readiness and the few metrics an operator
//! looks at first (the payment breaker, consumer lag, outbox backlog, parked rows, dead letters), read from the services' own `/health/ready` and `/metrics`, which are not
//! routed to the public. The console's ops page shows it.

use axum::Json;
use axum::extract::{Request, State};
use futures::future::join_all;
use service_runtime::problem::ProblemBody;
use service_runtime::{Problem, Role};

use crate::probes::ServiceHealth;
use crate::rate_limit::Caller;
use crate::rules::Upstream;
use crate::state::Gateway;

/// Each service's readiness and watched metrics (admins only).
#[utoipa::path(
    get,
    path = "/ops/services",
    tag = "ops",
    responses(
        (status = 200, description = "one entry per service, in the gateway's order", body = [ServiceHealth]),
        (status = 401, description = "missing, invalid or expired token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "not an admin", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "rate limited; see Retry-After", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn services(
    State(gateway): State<Gateway>,
    request: Request,
) -> Result<Json<Vec<ServiceHealth>>, Problem> {
    let identity = gateway.auth.authenticate(request.headers())?;
    gateway
        .limiter
        .check(&Caller::User(identity.user_id.clone()))?;
    identity.require(&[Role::Admin])?;
    let all = join_all(Upstream::ALL.map(|u| gateway.probes.service(u))).await;
    Ok(Json(all))
}
