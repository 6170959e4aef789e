//! Who is calling: the bearer token is checked here and nowhere else. One algorithm is pinned
//! (a token cannot choose how it is verified), `exp`, `iss` and `aud` are required, and every
//! failure is the same 401 to the client (the reason is logged, the token never is).

use std::fmt;
use std::str::FromStr;

use anyhow::{Context, bail};
use axum::http::{HeaderMap, header};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use service_runtime::{Identity, Problem, Role};

/// The algorithms the gateway accepts, one at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    Hs256,
    Rs256,
}

impl FromStr for JwtAlgorithm {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "HS256" => Ok(Self::Hs256),
            "RS256" => Ok(Self::Rs256),
            other => Err(format!(
                "unsupported JWT algorithm {other:?} (HS256 or RS256)"
            )),
        }
    }
}

impl fmt::Display for JwtAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Hs256 => "HS256",
            Self::Rs256 => "RS256",
        })
    }
}

#[derive(Debug, Clone)]
pub struct JwtSettings {
    pub algorithm: JwtAlgorithm,
    /// HS256 key.
    pub secret: SecretString,
    /// RS256 public key (PEM).
    pub public_key_pem: SecretString,
    pub issuer: String,
    pub audience: String,
    pub leeway_seconds: u64,
}

/// What the gateway reads from a token once it is valid (`exp`, `iss`, `aud` are checked by
/// the validation, whatever their JSON shape).
#[derive(Debug, Deserialize)]
struct Subject {
    sub: String,
    role: String,
}

/// The claims of the tokens the gateway signs (development tokens).
#[derive(Debug, Clone, Serialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
}

/// Checks tokens; signs development tokens when it holds a symmetric key.
#[derive(Clone)]
pub struct Authenticator {
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
    validation: Validation,
    issuer: String,
    audience: String,
}

/// The shortest HS256 key accepted: shorter keys can be brute-forced.
const MIN_SECRET_BYTES: usize = 32;

impl Authenticator {
    pub fn new(settings: &JwtSettings) -> anyhow::Result<Self> {
        let (algorithm, decoding, encoding) = match settings.algorithm {
            JwtAlgorithm::Hs256 => {
                let secret = settings.secret.expose_secret().as_bytes();
                if secret.len() < MIN_SECRET_BYTES {
                    bail!("JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes with HS256");
                }
                let encoding = Some(EncodingKey::from_secret(secret));
                (Algorithm::HS256, DecodingKey::from_secret(secret), encoding)
            }
            JwtAlgorithm::Rs256 => {
                let pem = settings.public_key_pem.expose_secret().as_bytes();
                let key = DecodingKey::from_rsa_pem(pem)
                    .context("JWT_PUBLIC_KEY_PEM is not an RSA public key in PEM form")?;
                (Algorithm::RS256, key, None)
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = settings.leeway_seconds;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Ok(Self {
            decoding,
            encoding,
            validation,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
        })
    }

    /// The caller named by the request's bearer token, or a 401.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Identity, Problem> {
        let token = bearer(headers).ok_or_else(|| {
            Problem::unauthorized("a bearer token is required (Authorization: Bearer <token>)")
        })?;
        self.verify(token)
    }

    pub fn verify(&self, token: &str) -> Result<Identity, Problem> {
        let claims = jsonwebtoken::decode::<Subject>(token, &self.decoding, &self.validation)
            .map_err(|e| {
                tracing::info!(reason = refusal(&e), "token refused");
                invalid_token()
            })?
            .claims;
        let role: Role = claims.role.parse().map_err(|_| {
            tracing::info!("token refused: unknown role");
            invalid_token()
        })?;
        if claims.sub.trim().is_empty() {
            tracing::info!("token refused: empty subject");
            return Err(invalid_token());
        }
        Ok(Identity {
            user_id: claims.sub,
            role,
        })
    }

    /// A token for `identity` valid for `lifetime_seconds`; `None` without a signing key.
    pub fn issue(
        &self,
        identity: &Identity,
        lifetime_seconds: u64,
    ) -> Option<anyhow::Result<String>> {
        let key = self.encoding.as_ref()?;
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: identity.user_id.clone(),
            role: identity.role.as_str().to_owned(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + lifetime_seconds,
        };
        Some(
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, key)
                .context("cannot sign a token"),
        )
    }
}

fn invalid_token() -> Problem {
    Problem::unauthorized("the bearer token is invalid or expired")
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Why a token was refused, without any part of the token.
fn refusal(error: &jsonwebtoken::errors::Error) -> &'static str {
    use jsonwebtoken::errors::ErrorKind as K;
    match error.kind() {
        K::ExpiredSignature => "expired",
        K::InvalidSignature => "bad signature",
        K::InvalidAlgorithm | K::InvalidAlgorithmName | K::UnsupportedAlgorithm => {
            "algorithm not allowed"
        }
        K::InvalidIssuer => "wrong issuer",
        K::InvalidAudience => "wrong audience",
        K::MissingRequiredClaim(_) => "missing claim",
        K::ImmatureSignature => "not yet valid",
        _ => "malformed",
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
