//! Accepting HTTP connections, for `elysium serve` and the integration tests alike. Like
//! `axum::serve` (HTTP/1 and HTTP/2, upgrades, graceful shutdown, the peer's address as
//! `ConnectInfo<SocketAddr>`), and unlike it, a client gets a bounded time to send each request's
//! headers: a slowloris client, which opens many connections and sends its headers a byte at a
//! time or never, would otherwise hold a connection and its task forever.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::{Router, body::Body, extract::ConnectInfo, http::Request};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tower::ServiceExt;

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, lets the requests
/// in progress finish and closes idle connections. A connection that has not sent a request's
/// headers within `header_timeout` is closed: for HTTP/1 hyper's own header timeout, which
/// covers every request of a kept-alive connection; before the first request (while the
/// protocol is still being told apart) this module's.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let builder = builder(header_timeout);
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
        serve_connection(&builder, &graceful, stream, peer, app.clone(), header_timeout);
    }
    drop(listener);
    tracing::info!("no longer accepting connections; finishing the requests in progress");
    graceful.shutdown().await;
    Ok(())
}

/// HTTP/1 and HTTP/2 (told apart by the client's first bytes), with a timer for the header timeout.
fn builder(header_timeout: Duration) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(header_timeout);
    builder.http2().timer(TokioTimer::new()).enable_connect_protocol();
    builder
}

/// Serves one connection in its own task, the peer's address added to each request.
fn serve_connection(
    builder: &auto::Builder<TokioExecutor>,
    graceful: &GracefulShutdown,
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    header_timeout: Duration,
) {
    let first_request = Arc::new(Notify::new());
    let seen = first_request.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        seen.notify_one();
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(request)
    });
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
    let connection = graceful.watch(connection);
    tokio::spawn(async move {
        let mut connection = std::pin::pin!(connection);
        tokio::select! {
            result = &mut connection => return finished(peer, result),
            waited = tokio::time::timeout(header_timeout, first_request.notified()) => {
                if waited.is_err() {
                    tracing::debug!(%peer, "closing a connection that sent no request headers in time");
                    return;
                }
            }
        }
        finished(peer, connection.await);
    });
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
