//! The in-flight limit over real sockets: a request past it is refused at once with 503 and a
//! ModelArts error body, and served again once the others finish.

use std::sync::Arc;

use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, Notify};

use super::{serve_with, Limits};

async fn request(addr: std::net::SocketAddr) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn a_request_past_the_limit_gets_503_at_once() {
    let release = Arc::new(Notify::new());
    let (entered_tx, mut entered) = mpsc::unbounded_channel::<()>();
    let router = axum::Router::new().route(
        "/",
        get({
            let release = release.clone();
            move || async move {
                let _ = entered_tx.send(());
                release.notified().await;
                "done"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(Notify::new());
    let server = tokio::spawn({
        let stop = stop.clone();
        let limits = Limits {
            max_in_flight: 1,
            ..Limits::default()
        };
        async move {
            serve_with(
                listener,
                router,
                async move { stop.notified().await },
                limits,
            )
            .await
        }
    });
    let first = tokio::spawn(request(addr));
    entered.recv().await.unwrap();
    let refused = request(addr).await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(
        refused.contains("\"error_code\":\"ModelArts.0001\""),
        "{refused}"
    );
    assert!(
        refused.to_ascii_lowercase().contains("retry-after: 1"),
        "{refused}"
    );
    release.notify_one();
    assert!(first.await.unwrap().ends_with("done"));
    // The permit came back with the answer.
    let again = tokio::spawn(request(addr));
    entered.recv().await.unwrap();
    release.notify_one();
    assert!(again.await.unwrap().starts_with("HTTP/1.1 200"));
    stop.notify_one();
    server.await.unwrap().unwrap();
}
