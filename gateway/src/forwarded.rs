//! Which headers a service receives: the client's, minus those that belong to the client's
//! connection or that only the gateway may set (credentials, identity, trace context, client
//! address), plus the gateway's versions of the latter.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use service_runtime::Identity;
use service_runtime::identity::{USER_ID_HEADER, USER_ROLE_HEADER};
use service_runtime::trace;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const TRACEPARENT: HeaderName = HeaderName::from_static(trace::HEADER);

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus `host`.
pub const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::HOST,
];

/// The client's headers minus what belongs to the client's connection or must come from the
/// gateway alone (credentials and identity), plus identity, trace context and client address.
pub fn upstream_headers(
    incoming: &HeaderMap,
    identity: &Identity,
    client_ip: Option<IpAddr>,
    traceparent: &str,
) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(incoming.len() + 4);
    let named_in_connection = connection_listed(incoming);
    for (name, value) in incoming {
        let gateway_owned = [
            header::AUTHORIZATION,
            header::COOKIE,
            TRACEPARENT,
            X_FORWARDED_FOR,
        ]
        .contains(name)
            || name == USER_ID_HEADER
            || name == USER_ROLE_HEADER;
        if gateway_owned || HOP_BY_HOP.contains(name) || named_in_connection.contains(name) {
            continue;
        }
        headers.append(name.clone(), value.clone());
    }
    if let Ok(user) = HeaderValue::from_str(&identity.user_id) {
        headers.insert(HeaderName::from_static(USER_ID_HEADER), user);
    }
    headers.insert(
        HeaderName::from_static(USER_ROLE_HEADER),
        HeaderValue::from_static(identity.role.as_str()),
    );
    if let Ok(value) = HeaderValue::from_str(traceparent) {
        headers.insert(TRACEPARENT, value);
    }
    if let Some(ip) = client_ip.and_then(|ip| HeaderValue::from_str(&ip.to_string()).ok()) {
        headers.insert(X_FORWARDED_FOR, ip);
    }
    headers
}

/// Headers a `Connection` header names are hop-by-hop too.
pub fn connection_listed(headers: &HeaderMap) -> Vec<HeaderName> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use service_runtime::Role;

    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn identity_credentials_and_hop_by_hop_headers_do_not_reach_the_service() {
        let mut incoming = HeaderMap::new();
        incoming.insert("x-user-id", HeaderValue::from_static("mallory"));
        incoming.insert("x-user-role", HeaderValue::from_static("admin"));
        incoming.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        incoming.insert(header::CONNECTION, HeaderValue::from_static("x-secret"));
        incoming.insert("x-secret", HeaderValue::from_static("1"));
        incoming.insert("idempotency-key", HeaderValue::from_static("k1"));
        incoming.insert("x-request-id", HeaderValue::from_static("r1"));
        let alice = Identity {
            user_id: "alice".into(),
            role: Role::Customer,
        };

        let headers = upstream_headers(&incoming, &alice, None, &trace::current());

        assert_eq!(headers["x-user-id"], "alice");
        assert_eq!(headers["x-user-role"], "customer");
        assert_eq!(headers.get_all("x-user-id").iter().count(), 1);
        assert!(headers.get(header::AUTHORIZATION).is_none());
        assert!(headers.get("x-secret").is_none());
        assert_eq!(headers["idempotency-key"], "k1");
        assert_eq!(headers["x-request-id"], "r1");
        assert!(trace::is_valid(headers[TRACEPARENT].to_str().unwrap()));
    }
}
