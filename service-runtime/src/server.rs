//! Running a service process: bind, serve, and shut down in order.

use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Version, header};
use axum::middleware::Next;
use axum::response::Response;
use futures::future::BoxFuture;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::settings::HttpSettings;

/// How long background tasks (relay, consumers) get to finish after the server stopped.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Completes on ctrl-c or SIGTERM (what Kubernetes sends before killing a pod).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received");
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then drains and stops.
///
/// Stopping has two steps, so that a client holding keep-alive connections to this process
/// (the gateway's pool; in Kubernetes, connections made before the pod left the Service) never
/// sends a request on a connection closing under it, which would fail without knowing whether it
/// was done:
/// 1. for `drain`, it keeps accepting and serving, and every HTTP/1 answer says
///    `Connection: close`, so each connection in use is retired by its client after its answer
///    (readiness is already 503, and a successor beside it takes new connections);
/// 2. then it stops accepting, closes the connections left idle and lets in-flight requests
///    finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    drain: Duration,
) -> std::io::Result<()> {
    let router = router.layer(axum::middleware::from_fn_with_state(
        shutdown.clone(),
        close_when_stopping,
    ));
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.cancelled().await;
        if !drain.is_zero() {
            tracing::info!(drain_ms = drain.as_millis() as u64, "draining connections");
            tokio::time::sleep(drain).await;
        }
    })
    .await
}

/// Asks the client to close the connection after this answer once the process is stopping.
async fn close_when_stopping(
    State(shutdown): State<CancellationToken>,
    request: Request,
    next: Next,
) -> Response {
    let http1 = request.version() < Version::HTTP_2;
    let mut response = next.run(request).await;
    if http1 && shutdown.is_cancelled() {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A listener on `http`'s address (sharing the port with a successor when `reuse_port` is set).
pub async fn listen(http: &HttpSettings) -> std::io::Result<TcpListener> {
    if !http.reuse_port {
        return TcpListener::bind(http.address()).await;
    }
    let address = tokio::net::lookup_host(http.address())
        .await?
        .next()
        .ok_or_else(|| std::io::Error::other("the address resolves to nothing"))?;
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    #[cfg(unix)]
    socket.set_reuseport(true)?;
    socket.bind(address)?;
    socket.listen(1024)
}

/// A bound, not yet running service: its listener, routes, and background tasks that share
/// its shutdown token. Tests bind port 0 and read [`port`](Self::port).
pub struct Application {
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    drain: Duration,
    background: Vec<JoinHandle<()>>,
    beside: Vec<Beside>,
}

/// Another server of the process on a listener of its own (the order service's gRPC), started
/// with the HTTP server and stopped by the same token.
struct Beside {
    name: &'static str,
    port: u16,
    serve: BoxFuture<'static, anyhow::Result<()>>,
}

impl Application {
    pub async fn bind(
        http: &HttpSettings,
        router: Router,
        shutdown: CancellationToken,
        background: Vec<JoinHandle<()>>,
    ) -> anyhow::Result<Self> {
        let listener = listen(http)
            .await
            .with_context(|| format!("cannot listen on {}", http.address()))?;
        Ok(Self {
            listener,
            router,
            shutdown,
            drain: http.drain,
            background,
            beside: Vec::new(),
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Runs `serve`, a server already bound to `port`, beside the HTTP one. It must stop when
    /// [`shutdown_token`](Self::shutdown_token) is cancelled; if it fails, the whole process
    /// stops (a service missing one of its servers must not look healthy).
    pub fn with_server(
        mut self,
        name: &'static str,
        port: u16,
        serve: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) -> Self {
        self.beside.push(Beside {
            name,
            port,
            serve: Box::pin(serve),
        });
        self
    }

    /// The port of the server added as `name` by [`with_server`](Self::with_server).
    pub fn port_of(&self, name: &str) -> Option<u16> {
        self.beside.iter().find(|b| b.name == name).map(|b| b.port)
    }

    /// Cancel it to stop the service (what a signal does).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves until the shutdown token is cancelled, then waits for the background tasks to
    /// finish their work in hand (bounded by a drain timeout).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        tracing::info!(port = self.port(), "listening");
        let mut background = self.background;
        for Beside { name, port, serve } in self.beside {
            tracing::info!(server = name, port, "listening");
            let shutdown = self.shutdown.clone();
            background.push(tokio::spawn(async move {
                if let Err(e) = serve.await {
                    tracing::error!(server = name, error = %format!("{e:#}"), "server failed; shutting down");
                    shutdown.cancel();
                }
            }));
        }
        let served = serve(
            self.listener,
            self.router,
            self.shutdown.clone(),
            self.drain,
        )
        .await;
        self.shutdown.cancel();
        let drain = futures::future::join_all(background);
        if tokio::time::timeout(DRAIN_TIMEOUT, drain).await.is_err() {
            tracing::warn!("background tasks did not stop in time");
        }
        tracing::info!("stopped");
        served.context("HTTP server failed")
    }

    /// [`run_until_stopped`](Self::run_until_stopped), stopping on ctrl-c or SIGTERM.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        let token = self.shutdown_token();
        tokio::spawn(async move {
            shutdown_signal().await;
            token.cancel();
        });
        self.run_until_stopped().await
    }
}
