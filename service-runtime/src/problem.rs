//! RFC 9457 problem details, the one error shape of the public API.
//!
//! Handlers return `Result<_, Problem>` (usually through their service's own error enum, which
//! converts into a `Problem`). Internal causes are logged where they are converted, never sent.

use axum::Json;
use axum::extract::FromRequest;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A problem+json response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: StatusCode,
    /// Stable, machine-readable (`menu_item_unknown`, `invalid_transition`, ...).
    pub code: &'static str,
    /// For humans; never contains internal details.
    pub detail: String,
    /// Seconds, for 429 and 503.
    pub retry_after: Option<u64>,
}

/// The problem+json body, as sent. Public so that the API document describes the one shape every
/// error response has.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Problem)]
pub struct ProblemBody<'a> {
    /// Always `about:blank`: `code` carries the machine-readable kind.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    pub kind: &'static str,
    /// The status code's reason phrase.
    #[schema(example = "Unprocessable Entity")]
    pub title: &'a str,
    #[schema(example = 422)]
    pub status: u16,
    /// For humans; never contains internal details.
    #[schema(example = "menu item 5f0c… is not on the menu of store 9a1e…")]
    pub detail: &'a str,
    /// Stable and machine-readable.
    #[schema(example = "menu_item_unknown")]
    pub code: &'a str,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            retry_after: None,
        }
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn unavailable(code: &'static str, detail: impl Into<String>, retry_after: u64) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, detail).with_retry_after(retry_after)
    }

    /// A 500 that says nothing about its cause. Log the cause where you create it. Not for
    /// overload (pool exhausted, deadline passed): that is [`Problem::unavailable`].
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the request could not be completed; it has been logged",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = ProblemBody {
            kind: "about:blank",
            title: self.status.canonical_reason().unwrap_or("Error"),
            status: self.status.as_u16(),
            detail: &self.detail,
            code: self.code,
        };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected a body with Content-Type: application/json",
            ),
            JsonRejection::BytesRejection(_) => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the request body is too large",
            ),
            // Syntax errors and wrong types alike: the body is not what the contract says.
            other => Problem::bad_request("malformed_body", other.body_text()),
        }
    }
}

impl From<PathRejection> for Problem {
    fn from(rejection: PathRejection) -> Self {
        Problem::not_found(rejection.body_text())
    }
}

impl From<QueryRejection> for Problem {
    fn from(rejection: QueryRejection) -> Self {
        Problem::bad_request("malformed_query", rejection.body_text())
    }
}

/// `axum::Json` whose rejections are problem+json, and whose text never holds U+0000:
/// PostgreSQL can store that character neither in `text` nor in `jsonb`, so a body whose
/// fields hold one is refused as malformed (400) here rather than failing at the database as a
/// 500. A member the handler does not read (an unknown property) is ignored, U+0000 or not, as
/// any unknown property is.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Problem> {
        if !json_content_type(request.headers()) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected a body with Content-Type: application/json",
            ));
        }
        let body = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|_| {
                Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    "the request body is too large",
                )
            })?;
        if !is_object(&body) {
            // serde reads an array as a struct's fields in order: `[null, null]` would pass for
            // a body naming nothing. Every body of this API is an object.
            return Err(Problem::bad_request(
                "malformed_body",
                "the body must be a JSON object",
            ));
        }
        if escapes_nul(&body) && reads_nul::<T>(&body) {
            return Err(Problem::bad_request(
                "malformed_body",
                "text must not contain the character U+0000",
            ));
        }
        Ok(Self(Json::<T>::from_bytes(&body)?.0))
    }
}

/// `application/json` or `application/<anything>+json`, as `axum::Json` accepts.
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let essence = essence.to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Whether JSON text holds the escape `\u0000` (the only way U+0000 can be in JSON): a `\u0000`
/// after an odd number of backslashes in a row.
/// Whether the JSON text is an object (by its first character; the parser checks the rest).
fn is_object(json: &[u8]) -> bool {
    json.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

fn escapes_nul(json: &[u8]) -> bool {
    let mut backslashes = 0;
    for (i, &byte) in json.iter().enumerate() {
        if byte == b'\\' {
            backslashes += 1;
            continue;
        }
        if backslashes % 2 == 1 && json[i..].starts_with(b"u0000") {
            return true;
        }
        backslashes = 0;
    }
    false
}

/// Whether reading `T` from `json` would read a U+0000: one is in a key or a string that is not
/// under a member `T` ignores. `false` when `json` is not a `T` at all (its own error follows).
fn reads_nul<T: serde::de::DeserializeOwned>(json: &[u8]) -> bool {
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(json) else {
        return false;
    };
    let mut ignored: Vec<Vec<Step>> = Vec::new();
    let read: Result<T, _> = serde_ignored::deserialize(&value, |path| ignored.push(steps(&path)));
    if read.is_err() {
        return false;
    }
    for path in &ignored {
        remove(&mut value, path);
    }
    holds_nul(&value)
}

/// One step into a JSON value: a member's key or an element's index.
#[derive(Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// The steps from the root to `path` (options and newtypes are no step in JSON).
fn steps(path: &serde_ignored::Path) -> Vec<Step> {
    let (parent, step) = match path {
        serde_ignored::Path::Root => return Vec::new(),
        serde_ignored::Path::Seq { parent, index } => (parent, Some(Step::Index(*index))),
        serde_ignored::Path::Map { parent, key } => (parent, Some(Step::Key(key.clone()))),
        serde_ignored::Path::Some { parent }
        | serde_ignored::Path::NewtypeStruct { parent }
        | serde_ignored::Path::NewtypeVariant { parent } => (parent, None),
    };
    let mut steps = self::steps(parent);
    steps.extend(step);
    steps
}

/// Takes out the member or element at `path` (an element becomes `null`, so that the indices
/// of the others stay).
fn remove(value: &mut serde_json::Value, path: &[Step]) {
    let Some((last, parents)) = path.split_last() else {
        *value = serde_json::Value::Null;
        return;
    };
    let mut at = value;
    for step in parents {
        let next = match (step, at) {
            (Step::Key(key), serde_json::Value::Object(map)) => map.get_mut(key),
            (Step::Index(i), serde_json::Value::Array(items)) => items.get_mut(*i),
            _ => None,
        };
        match next {
            Some(next) => at = next,
            None => return,
        }
    }
    match (last, at) {
        (Step::Key(key), serde_json::Value::Object(map)) => {
            map.remove(key);
        }
        (Step::Index(i), serde_json::Value::Array(items)) => {
            if let Some(item) = items.get_mut(*i) {
                *item = serde_json::Value::Null;
            }
        }
        _ => {}
    }
}

fn holds_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(text) => text.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(holds_nul),
        serde_json::Value::Object(map) => map
            .iter()
            .any(|(key, value)| key.contains('\0') || holds_nul(value)),
        _ => false,
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// `axum::extract::Path` whose rejections are problem+json (a malformed id is a 404).
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Problem))]
pub struct ApiPath<T>(pub T);

/// `axum::extract::Query` whose rejections are problem+json.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Problem))]
pub struct ApiQuery<T>(pub T);

use axum::extract::FromRequestParts;

/// Logs an unexpected failure once, here, and answers a 500 that says nothing about it; unless
/// the failure is overload (no database connection came free in time) or the database being
/// unreachable or restarting, which are 503s with `Retry-After`: a 500 means a bug.
pub fn internal_error<E: std::fmt::Display + 'static>(error: E) -> Problem {
    if let Some(problem) = overload(&error) {
        tracing::warn!(error = %error, code = problem.code, "request refused for now");
        return problem;
    }
    tracing::error!(error = %error, "request failed");
    Problem::internal()
}

/// The answer to a database error in a request: 503 when the pool had no connection to give in
/// time or the database cannot answer now, otherwise logged once and a 500.
pub fn database_error(error: sqlx::Error) -> Problem {
    internal_error(error)
}

/// A database error in a request path converts by `?`: 503 for overload or an unreachable
/// database, otherwise logged once and a 500 (see [`database_error`]).
impl From<sqlx::Error> for Problem {
    fn from(error: sqlx::Error) -> Self {
        database_error(error)
    }
}

/// A 503 for an error that means "too busy" or "the database cannot answer now", found through
/// `anyhow` too.
fn overload(error: &dyn std::any::Any) -> Option<Problem> {
    let database = error.downcast_ref::<sqlx::Error>().or_else(|| {
        error
            .downcast_ref::<anyhow::Error>()
            .and_then(|e| e.downcast_ref::<sqlx::Error>())
    });
    match database? {
        sqlx::Error::PoolTimedOut => Some(Problem::unavailable(
            "overloaded",
            "the service is at capacity; try again shortly",
            1,
        )),
        error if crate::db::is_transient(error) => Some(Problem::unavailable(
            "database_unavailable",
            "the service's database cannot answer now; try again shortly",
            1,
        )),
        _ => None,
    }
}

/// The fallback for unknown routes.
pub async fn not_found() -> Problem {
    Problem::not_found("no such resource")
}

#[cfg(test)]
mod nul_tests {
    use super::{escapes_nul, is_object, reads_nul};

    #[test]
    fn only_an_object_is_a_body() {
        assert!(is_object(br#" {"name": "a"}"#));
        assert!(is_object(b"\n\t{}"));
        for not_one in [&b"[null, null]"[..], b"null", b"\"x\"", b"1", b"", b"  "] {
            assert!(!is_object(not_one), "{}", String::from_utf8_lossy(not_one));
        }
    }

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Store {
        name: String,
        tags: Option<Vec<String>>,
        address: Address,
    }

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Address {
        street: String,
    }

    #[test]
    fn a_nul_in_what_is_read_is_found_and_one_in_unknown_members_is_not() {
        let read = |json: &str| reads_nul::<Store>(json.as_bytes());
        assert!(read(r#"{"name": "a\u0000", "address": {"street": "s"}}"#));
        assert!(read(
            r#"{"name": "a", "tags": ["x", "\u0000"], "address": {"street": "s"}}"#
        ));
        assert!(read(r#"{"name": "a", "address": {"street": "\u0000"}}"#));
        assert!(!read(
            r#"{"name": "a", "address": {"street": "s"}, "x\u0000": "\u0000"}"#
        ));
        assert!(!read(
            r#"{"name": "a", "address": {"street": "s", "floor": ["\u0000"]}, "extra": {"y": "\u0000"}}"#
        ));
        // Not a Store at all: its own error, not this one.
        assert!(!read(r#"{"name": "\u0000"}"#));
    }

    #[test]
    fn the_nul_escape_is_found_and_an_escaped_backslash_before_u0000_is_not_one() {
        assert!(escapes_nul(br#"{"name": "a\u0000b"}"#));
        assert!(escapes_nul(br#"{"name": "\\\u0000"}"#));
        assert!(!escapes_nul(br#"{"name": "\\u0000"}"#));
        assert!(!escapes_nul(br#"{"name": "u0000 \u0001"}"#));
    }
}

/// Answers that many routes give alike, named once for their `#[utoipa::path(responses(..))]`
/// lists. (The answers any route may give before its handler runs — 401, 429, 503, and
/// 400/413/415 for bodies and queries — are added to every operation by the API document's
/// generator, so no route lists them.)
pub mod responses {
    use super::ProblemBody;

    /// 403 for a caller whose role is not a store owner's.
    #[derive(utoipa::IntoResponses)]
    #[response(
        status = 403,
        description = "not an owner",
        content_type = "application/problem+json"
    )]
    pub struct NotAnOwner(pub ProblemBody<'static>);

    /// 403 for a caller who is not an admin.
    #[derive(utoipa::IntoResponses)]
    #[response(
        status = 403,
        description = "not an admin",
        content_type = "application/problem+json"
    )]
    pub struct NotAnAdmin(pub ProblemBody<'static>);
}
