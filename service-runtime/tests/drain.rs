//! A stopping service retires its keep-alive connections before it stops accepting.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use service_runtime::Application;
use service_runtime::settings::HttpSettings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const DRAIN: Duration = Duration::from_millis(800);

async fn started() -> (
    u16,
    tokio_util::sync::CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let http = HttpSettings {
        drain: DRAIN,
        ..HttpSettings::loopback()
    };
    let router = Router::new().route("/hello", get(|| async { "hello" }));
    let shutdown = tokio_util::sync::CancellationToken::new();
    let app = Application::bind(&http, router, shutdown.clone(), Vec::new())
        .await
        .unwrap();
    let port = app.port();
    let running = tokio::spawn(async move { app.run_until_stopped().await.unwrap() });
    (port, shutdown, running)
}

/// Sends one keep-alive GET on `stream` and returns the head of the answer, lower-cased.
async fn get_hello(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.ends_with(b"hello") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("no answer in time")
            .unwrap();
        assert!(
            n > 0,
            "closed before answering: {:?}",
            String::from_utf8_lossy(&answer)
        );
        answer.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&answer).to_lowercase()
}

#[tokio::test]
async fn while_draining_it_serves_and_closes_each_connection_after_its_answer() {
    let (port, shutdown, running) = started().await;
    let mut kept = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let before = get_hello(&mut kept).await;
    assert!(before.starts_with("http/1.1 200"), "{before}");
    assert!(!before.contains("connection: close"), "{before}");

    shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // The connection opened before the stop is still served, and told to close.
    let during = get_hello(&mut kept).await;
    assert!(during.starts_with("http/1.1 200"), "{during}");
    assert!(during.contains("connection: close"), "{during}");
    let mut rest = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), kept.read(&mut rest))
        .await
        .expect("the server kept the connection open")
        .unwrap();
    assert_eq!(n, 0, "the server closes the connection after that answer");

    // A new connection is still accepted while draining.
    let mut fresh = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let fresh_answer = get_hello(&mut fresh).await;
    assert!(fresh_answer.contains("connection: close"), "{fresh_answer}");

    // After the drain it stops.
    tokio::time::timeout(DRAIN + Duration::from_secs(5), running)
        .await
        .expect("the server did not stop after its drain")
        .unwrap();
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err());
}
