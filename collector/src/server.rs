//! Serving a router on a listener, in plain TCP or TLS, HTTP/1.1 and HTTP/2 (gRPC), with graceful shutdown:
//! when the token is cancelled the listener closes, idle connections close, and requests in flight get up to
//! the grace period to finish.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

/// A client that has not finished its TLS handshake by then is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` until `shutdown` is cancelled, then drains. `name` labels the logs.
pub async fn serve(
    name: &'static str,
    listener: TcpListener,
    router: Router,
    tls: Option<TlsAcceptor>,
    shutdown: CancellationToken,
    grace_period: Duration,
) {
    let graceful = GracefulShutdown::new();
    let builder = Builder::new(TokioExecutor::new());
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(listener = name, %error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let watcher = graceful.watcher();
        let builder = builder.clone();
        match tls.clone() {
            None => {
                tokio::spawn(serve_stream(name, peer, stream, service, builder, watcher));
            }
            Some(acceptor) => {
                tokio::spawn(async move {
                    let stream = match tokio::time::timeout(
                        TLS_HANDSHAKE_TIMEOUT,
                        acceptor.accept(stream),
                    )
                    .await
                    {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(error)) => {
                            tracing::debug!(listener = name, %peer, %error, "tls handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(listener = name, %peer, "tls handshake timed out");
                            return;
                        }
                    };
                    serve_stream(name, peer, stream, service, builder, watcher).await;
                });
            }
        }
    }
    drop(listener);
    tracing::info!(listener = name, connections = graceful.count(), "draining");
    if tokio::time::timeout(grace_period, graceful.shutdown()).await.is_err() {
        tracing::warn!(listener = name, "grace period over, closing the remaining connections");
    }
}

async fn serve_stream<S>(
    name: &'static str,
    peer: SocketAddr,
    stream: S,
    service: TowerToHyperService<Router>,
    builder: Builder<TokioExecutor>,
    watcher: hyper_util::server::graceful::Watcher,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection = builder.serve_connection(TokioIo::new(stream), service).into_owned();
    if let Err(error) = watcher.watch(connection).await {
        tracing::debug!(listener = name, %peer, %error, "connection ended with an error");
    }
}
