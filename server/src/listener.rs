//! Accepting HTTP connections, for `elysium serve` and the integration tests alike. Like
//! `axum::serve` (HTTP/1 and HTTP/2, upgrades, graceful shutdown, the peer's address as
//! `ConnectInfo<SocketAddr>`), and unlike it, a client gets a bounded time to send each request's
//! headers and a connection a bounded time idle: a slowloris client, which opens many connections
//! and sends its headers a byte at a time or never, would otherwise hold a connection and its task
//! forever. The two limits are told apart (`listener/clock.rs`). An upgraded connection would keep them
//! too; none of the application's routes upgrades.

mod clock;

pub use clock::Deadlines;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::{Router, body::Body, extract::ConnectInfo, http::Request};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

use clock::{Clock, Deadlined};

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, lets the requests
/// in progress finish and closes idle connections. A connection is closed when a request's
/// headers take longer than `deadlines.header` from its first byte, or when it sits with no
/// request for `deadlines.idle`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    deadlines: Deadlines,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let builder = builder();
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        serve_connection(&builder, &graceful, stream, peer, app.clone(), deadlines);
    }
    drop(listener);
    tracing::info!("no longer accepting connections; finishing the requests in progress");
    graceful.shutdown().await;
    Ok(())
}

/// HTTP/1 and HTTP/2 (told apart by the client's first bytes). hyper's own HTTP/1 header timeout
/// is off: it would start while a kept-alive connection waits idle ([`clock`] has both deadlines).
fn builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(None);
    builder.http2().timer(TokioTimer::new()).enable_connect_protocol();
    builder
}

/// Serves one connection in its own task, the peer's address added to each request; each request
/// keeps the connection busy until its response has been written.
fn serve_connection(
    builder: &auto::Builder<TokioExecutor>,
    graceful: &GracefulShutdown,
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    deadlines: Deadlines,
) {
    let clock = Clock::new(deadlines);
    let io = TokioIo::new(Deadlined::new(stream, clock.clone()));
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let in_flight = clock.request_started();
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(peer));
        let response = app.clone().oneshot(request);
        async move {
            let response = response.await?;
            // The closure owns `in_flight`, so the response body drops it once written.
            Ok::<_, std::convert::Infallible>(response.map(|body| {
                Body::new(body.map_frame(move |frame| {
                    let _busy = &in_flight;
                    frame
                }))
            }))
        }
    });
    let connection = builder.serve_connection_with_upgrades(io, service).into_owned();
    let connection = graceful.watch(connection);
    tokio::spawn(async move { finished(peer, connection.await) });
}

fn finished(peer: SocketAddr, result: Result<(), Box<dyn std::error::Error + Send + Sync>>) {
    if let Err(error) = result {
        // Clients that go away, time out or speak something else than HTTP: theirs to fix.
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}

/// An accept that failed: a connection reset before it was accepted is nothing; running out of
/// file descriptors is, and waiting a moment lets connections close before the next try.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!(%error, "accepting a connection failed; trying again in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
