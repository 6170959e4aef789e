//! Who is calling: the bearer token is checked here and nowhere else. One algorithm is pinned
//! (a token cannot choose how it is verified), `exp`, `iss` and `aud` are required, and every
//! failure is the same 401 to the client (the reason is logged, the token never is).
//!
//! A key is rotated without signing everyone out: the key it replaces stays configured as the
//! previous one, of the same algorithm, for verification only, until the tokens signed with it
//! have expired. A token is checked against the current key, then the previous one, so it
//! needs no `kid`.

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
    /// The HS256 key before the last rotation, still accepted; empty: none.
    pub previous_secret: SecretString,
    /// The RS256 public key before the last rotation, still accepted; empty: none.
    pub previous_public_key_pem: SecretString,
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
    /// The key before the last rotation: it verifies, it never signs.
    previous: Option<DecodingKey>,
    encoding: Option<EncodingKey>,
    validation: Validation,
    issuer: String,
    audience: String,
}

/// The shortest HS256 key accepted: shorter keys can be brute-forced.
const MIN_SECRET_BYTES: usize = 32;

/// The variables that hold a key, for the errors that name them.
struct KeyVariables {
    secret: &'static str,
    public_key_pem: &'static str,
}

const CURRENT: KeyVariables = KeyVariables {
    secret: "JWT_SECRET",
    public_key_pem: "JWT_PUBLIC_KEY_PEM",
};

const PREVIOUS: KeyVariables = KeyVariables {
    secret: "JWT_PREVIOUS_SECRET",
    public_key_pem: "JWT_PREVIOUS_PUBLIC_KEY_PEM",
};

impl Authenticator {
    pub fn new(settings: &JwtSettings) -> anyhow::Result<Self> {
        let decoding = decoding_key(
            settings.algorithm,
            &settings.secret,
            &settings.public_key_pem,
            &CURRENT,
        )?;
        let previous = previous_key(settings)?;
        let (algorithm, encoding) = match settings.algorithm {
            JwtAlgorithm::Hs256 => (
                Algorithm::HS256,
                Some(EncodingKey::from_secret(
                    settings.secret.expose_secret().as_bytes(),
                )),
            ),
            JwtAlgorithm::Rs256 => (Algorithm::RS256, None),
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
            previous,
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
        let claims = self
            .decode(token)
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

    /// The token's claims under the current key or, failing its signature, the previous one.
    /// Either way the same validation applies: the key is all that differs.
    fn decode(
        &self,
        token: &str,
    ) -> jsonwebtoken::errors::Result<jsonwebtoken::TokenData<Subject>> {
        let current = jsonwebtoken::decode::<Subject>(token, &self.decoding, &self.validation);
        match (current, &self.previous) {
            (Err(e), Some(previous))
                if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::InvalidSignature) =>
            {
                jsonwebtoken::decode::<Subject>(token, previous, &self.validation)
            }
            (result, _) => result,
        }
    }

    /// A token for `identity` valid for `lifetime_seconds`, signed with the current key;
    /// `None` without a signing key.
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

/// The key that verifies tokens of `algorithm`, from the variables `names` name.
fn decoding_key(
    algorithm: JwtAlgorithm,
    secret: &SecretString,
    public_key_pem: &SecretString,
    names: &KeyVariables,
) -> anyhow::Result<DecodingKey> {
    match algorithm {
        JwtAlgorithm::Hs256 => {
            let secret = secret.expose_secret().as_bytes();
            if secret.len() < MIN_SECRET_BYTES {
                bail!(
                    "{} must be at least {MIN_SECRET_BYTES} bytes with HS256",
                    names.secret
                );
            }
            Ok(DecodingKey::from_secret(secret))
        }
        JwtAlgorithm::Rs256 => DecodingKey::from_rsa_pem(public_key_pem.expose_secret().as_bytes())
            .with_context(|| {
                format!(
                    "{} is not an RSA public key in PEM form",
                    names.public_key_pem
                )
            }),
    }
}

/// The previous key, if one is configured: of the pinned algorithm, checked as the current one
/// is. A previous key of the other algorithm is refused rather than ignored: it would never
/// verify a token, and the rotation it was meant for would sign people out.
fn previous_key(settings: &JwtSettings) -> anyhow::Result<Option<DecodingKey>> {
    let secret = !settings.previous_secret.expose_secret().is_empty();
    let pem = !settings.previous_public_key_pem.expose_secret().is_empty();
    let (own, other) = match settings.algorithm {
        JwtAlgorithm::Hs256 => (secret, pem.then_some(PREVIOUS.public_key_pem)),
        JwtAlgorithm::Rs256 => (pem, secret.then_some(PREVIOUS.secret)),
    };
    if let Some(other) = other {
        bail!(
            "{other} is set but JWT_ALGORITHM is {}: the previous key must be of the same algorithm",
            settings.algorithm
        );
    }
    if !own {
        return Ok(None);
    }
    decoding_key(
        settings.algorithm,
        &settings.previous_secret,
        &settings.previous_public_key_pem,
        &PREVIOUS,
    )
    .map(Some)
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
