//! What every entry point of the gateway (REST routes, the development token, gRPC) shares:
//! the checks' state, the connection to the order service's gRPC server, and the caller's
//! address as they all read it. Its own module so that each entry point depends on it, and none
//! on another.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::Context as _;
use axum::extract::ConnectInfo;
use axum::http::Extensions;
use tokio::sync::Semaphore;
use tonic::transport::{Channel, Endpoint};

use crate::admission::EntryAdmission;
use crate::auth::Authenticator;
use crate::probes::Probes;
use crate::proxy::Proxy;
use crate::rate_limit::RateLimiter;

#[derive(Clone)]
pub struct Gateway {
    pub auth: Authenticator,
    pub limiter: RateLimiter,
    pub admission: EntryAdmission,
    pub proxy: Proxy,
    pub grpc: GrpcProxy,
    /// The live streams open ([`crate::live`]).
    pub live: Streams,
    /// The services' own health and metrics ([`crate::ops`]).
    pub probes: Probes,
}

/// The peer address. Not `X-Forwarded-For`: a client could write any address there.
pub fn client_ip(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
}

/// The order service's gRPC server, as one lazily connected HTTP/2 channel.
#[derive(Clone)]
pub struct GrpcProxy {
    pub(crate) channel: Channel,
}

impl GrpcProxy {
    pub fn new(url: &str, connect_timeout: std::time::Duration) -> anyhow::Result<Self> {
        let endpoint = Endpoint::from_shared(url.to_owned())
            .with_context(|| format!("ORDER_GRPC_URL {url:?} is not a URL"))?
            .connect_timeout(connect_timeout)
            .tcp_nodelay(true);
        Ok(Self {
            channel: endpoint.connect_lazy(),
        })
    }
}

/// Permits for the live streams open at once ([`crate::live`]).
#[derive(Clone)]
pub struct Streams(pub Arc<Semaphore>);

impl Streams {
    pub fn new(max: usize) -> Self {
        Self(Arc::new(Semaphore::new(max)))
    }
}
