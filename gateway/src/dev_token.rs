//! Development tokens, so that the local and test stacks can be used without an identity
//! provider: `POST /auth/dev-token {"userId","role"}`. Mounted only when `AUTH_DEV_TOKENS=true`.

use axum::Json;
use axum::extract::State;
use axum::http::Extensions;
use serde::{Deserialize, Serialize};
use service_runtime::problem::{ApiJson, ProblemBody};
use service_runtime::{Identity, Problem, Role};

use crate::rate_limit::Caller;
use crate::state::{Gateway, client_ip};

/// How long a development token lives.
pub const LIFETIME_SECONDS: u64 = 3600;
const MAX_USER_ID_CHARS: usize = 64;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DevTokenRequest {
    /// 1–64 characters of A–Z, a–z, 0–9, '-', '_', '.', '@'.
    #[schema(
        example = "alice",
        min_length = 1,
        max_length = 64,
        pattern = "^[A-Za-z0-9._@-]+$"
    )]
    pub user_id: String,
    /// customer, owner, rider or admin.
    #[schema(example = "customer", schema_with = role_schema)]
    pub role: String,
}

/// The roles as an enumeration: the field stays a string so that an unknown role is a 422
/// (`invalid_role`) rather than a malformed body.
fn role_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .description(Some("customer, owner, rider or admin."))
        .enum_values(Some(
            [Role::Customer, Role::Owner, Role::Rider, Role::Admin].map(Role::as_str),
        ))
        .examples([serde_json::json!("customer")])
        .build()
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DevToken {
    /// A JWT for `Authorization: Bearer`.
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds.
    #[schema(example = 3600)]
    pub expires_in: u64,
}

/// A token for any user and role, without an identity provider (local and test stacks only;
/// 404 where development tokens are off).
#[utoipa::path(
    post,
    path = "/auth/dev-token",
    tag = "auth",
    security(()),
    request_body = DevTokenRequest,
    responses(
        (status = 200, description = "a token", body = DevToken),
        (status = 400, description = "malformed body", body = ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "body too large", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "no `Content-Type: application/json`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "development tokens are off", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "unknown role (`invalid_role`) or invalid userId (`invalid_user_id`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "rate limited; see Retry-After", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn issue(
    State(gateway): State<Gateway>,
    extensions: Extensions,
    ApiJson(request): ApiJson<DevTokenRequest>,
) -> Result<Json<DevToken>, Problem> {
    let caller =
        Caller::Address(client_ip(&extensions).unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])));
    gateway.limiter.check(&caller)?;
    let identity = parse(request)?;
    let token = gateway
        .auth
        .issue(&identity, LIFETIME_SECONDS)
        .ok_or_else(|| Problem::not_found("no such resource"))?
        .map_err(|e| {
            tracing::error!(error = %e, "cannot issue a development token");
            Problem::internal()
        })?;
    tracing::info!(user.id = %identity.user_id, role = %identity.role, "development token issued");
    Ok(Json(DevToken {
        access_token: token,
        token_type: "Bearer",
        expires_in: LIFETIME_SECONDS,
    }))
}

/// The identity a request asks for, or a 422 saying what is wrong with it.
pub fn parse(request: DevTokenRequest) -> Result<Identity, Problem> {
    let role: Role = request.role.parse().map_err(|_| {
        Problem::unprocessable(
            "invalid_role",
            "role must be customer, owner, rider or admin",
        )
    })?;
    let user_id = request.user_id;
    let valid = !user_id.is_empty()
        && user_id.chars().count() <= MAX_USER_ID_CHARS
        && user_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if !valid {
        return Err(Problem::unprocessable(
            "invalid_user_id",
            format!(
                "userId must be 1–{MAX_USER_ID_CHARS} characters of A–Z, a–z, 0–9, '-', '_', '.', '@'"
            ),
        ));
    }
    Ok(Identity { user_id, role })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ask(user_id: &str, role: &str) -> Result<Identity, Problem> {
        parse(DevTokenRequest {
            user_id: user_id.into(),
            role: role.into(),
        })
    }

    #[test]
    fn every_role_with_a_simple_user_id_is_accepted() {
        for role in ["customer", "owner", "rider", "admin"] {
            assert_eq!(ask("alice.kim-01@x_y", role).unwrap().role.as_str(), role);
        }
    }

    #[test]
    fn unknown_roles_and_bad_user_ids_are_422() {
        let long = "a".repeat(65);
        for (user, role, code) in [
            ("alice", "superuser", "invalid_role"),
            ("alice", "", "invalid_role"),
            ("", "customer", "invalid_user_id"),
            (long.as_str(), "customer", "invalid_user_id"),
            ("al ice", "customer", "invalid_user_id"),
            ("alice\n", "customer", "invalid_user_id"),
            ("앨리스", "customer", "invalid_user_id"),
        ] {
            let problem = ask(user, role).unwrap_err();
            assert_eq!(problem.status.as_u16(), 422, "{user:?} {role:?}");
            assert_eq!(problem.code, code, "{user:?} {role:?}");
        }
        assert!(ask(&"a".repeat(64), "customer").is_ok());
    }
}
