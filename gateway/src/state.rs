//! What every entry point of the gateway shares — REST routes, the development token, gRPC —
//! and the caller's address as they all read it. Its own module so that each entry point
//! depends on it, and none on another.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::Extensions;

use crate::admission::EntryAdmission;
use crate::auth::Authenticator;
use crate::grpc::GrpcProxy;
use crate::proxy::Proxy;
use crate::rate_limit::RateLimiter;

#[derive(Clone)]
pub struct Gateway {
    pub auth: Authenticator,
    pub limiter: RateLimiter,
    pub admission: EntryAdmission,
    pub proxy: Proxy,
    pub grpc: GrpcProxy,
}

/// The peer address. Not `X-Forwarded-For`: a client could write any address there.
pub fn client_ip(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
}
