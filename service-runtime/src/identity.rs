//! Who is calling. The gateway validates the token and forwards the subject and role as
//! `X-User-Id` and `X-User-Role` (after removing any a client sent). Services still refuse a
//! request without them where a user is needed: defence in depth.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::Problem;

pub const USER_ID_HEADER: &str = "x-user-id";
pub const USER_ROLE_HEADER: &str = "x-user-role";

/// A caller's role, spelled in lower case in tokens and headers.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, strum::Display, strum::EnumString, strum::IntoStaticStr,
)]
#[strum(serialize_all = "lowercase")]
pub enum Role {
    Customer,
    Owner,
    Rider,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The authenticated caller, from the gateway's headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user_id: String,
    pub role: Role,
}

impl Identity {
    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), Problem> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "the {} role may not do this",
                self.role
            )))
        }
    }

    /// The caller the gateway named in `headers` (HTTP headers, or gRPC metadata, which travels
    /// as headers); 401 without one.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, Problem> {
        let header = |name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let user_id = header(USER_ID_HEADER)
            .ok_or_else(|| Problem::unauthorized("no authenticated user"))?
            .to_owned();
        let role = header(USER_ROLE_HEADER)
            .ok_or_else(|| Problem::unauthorized("no authenticated role"))?;
        let role = role
            .parse()
            .map_err(|_| Problem::unauthorized(format!("unknown role {role:?}")))?;
        Ok(Identity { user_id, role })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Self::from_headers(&parts.headers)
    }
}
