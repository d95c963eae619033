//! The daemon's HTTP listener: an accept loop over hyper's HTTP/1 server that bounds what one
//! client can hold ([`ListenerLimits`], `[serve]` in the config file).
//!
//! - **Connections.** A slot of a semaphore is taken *before* a connection is accepted and
//!   given back when it closes, so at most `max_connections` are open; past the cap, clients
//!   wait in the kernel's queue of pending connections (room for 1,024) instead of holding this
//!   process's file descriptors, which the library and the targets' connections need. A failed accept (out of
//!   descriptors, say) is logged and retried after a pause; it never ends the loop.
//! - **Headers and idle connections.** hyper's `header_read_timeout` closes a connection whose
//!   request line and headers have not all arrived in `header_timeout`, counted from when it
//!   starts waiting for them — so a half-sent request line, a connection that sends nothing,
//!   and a keep-alive connection left idle are all closed after that long.
//! - **Bodies.** Every request body is wrapped in a deadline (`body_timeout` from the end of the
//!   headers, however slowly bytes trickle in); a handler reading past it gets an error and the
//!   webhook answers 408.
//!
//! HTTP/1 only: the status page, the API, the metrics and the webhooks need nothing more, and
//! HTTP/2 would need its own idle and stream bounds. Nothing here touches a request that
//! arrives in time, so webhook latency is unchanged.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use config::ListenerLimits;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;
use tower_http::timeout::DeadlineBody;

/// How long the loop waits after a failed accept before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Connections the kernel keeps waiting for an accept (std's and tokio's 128 would make clients
/// past the cap retry their handshake for seconds instead of waiting their turn).
const PENDING_CONNECTIONS: u32 = 1024;

/// Binds the listener, with room for [`PENDING_CONNECTIONS`] waiting clients.
pub(super) fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    // As std and tokio do: a restarted daemon can bind while old connections linger.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(PENDING_CONNECTIONS)
}

/// Serves `app` on `listener` within `limits` until `shutdown` completes; then stops accepting,
/// lets the requests in flight finish and returns once every connection is closed.
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ListenerLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = accept(&listener, &slots) => accepted,
            () = &mut shutdown => break,
        };
        if let Some((stream, slot)) = accepted {
            spawn_connection(stream, slot, app.clone(), limits, &graceful);
        }
    }
    drop(listener);
    // Idle connections close at once; busy ones finish their request (whose headers and body
    // are bounded above).
    graceful.shutdown().await;
}

/// Waits for a free slot, then for a connection; `None` after a failed accept (already logged
/// and paused for).
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> Option<(TcpStream, OwnedSemaphorePermit)> {
    // The semaphore is never closed, so this cannot fail.
    let slot = Arc::clone(slots).acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((stream, _peer)) => Some((stream, slot)),
        Err(error) => {
            tracing::warn!(%error, "cannot accept a connection; retrying");
            tokio::time::sleep(ACCEPT_BACKOFF).await;
            None
        }
    }
}

/// Serves one connection on its own task; its slot is given back when the connection ends.
fn spawn_connection(
    stream: TcpStream,
    slot: OwnedSemaphorePermit,
    app: Router,
    limits: ListenerLimits,
    graceful: &GracefulShutdown,
) {
    // Small answers go out at once rather than waiting for more to send.
    let _ = stream.set_nodelay(true);
    let body_timeout = limits.body_timeout;
    let service = app.map_request(move |request: hyper::Request<Incoming>| {
        request.map(|body| Body::new(DeadlineBody::new(body_timeout, body)))
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let connection =
        builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    let connection = graceful.watch(connection);
    tokio::spawn(async move {
        // Errors are clients that went away or took too long: nothing to report.
        let _ = connection.await;
        drop(slot);
    });
}
