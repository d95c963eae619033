//! Serving the router over TCP with hyper directly (not `axum::serve`) so a response marked
//! [`DropConnection`] can close the socket without any answer: the service returns an error,
//! and hyper aborts the connection. Shutdown is graceful; the state file is written after it.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::faults::DropConnection;
use crate::{Emulator, EmulatorConfig, EmulatorError, app};

/// The error a service returns to make hyper drop the connection.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by fault injection")]
struct Dropped;

/// Serves `emulator` on `listener` until `shutdown` completes, then waits for open
/// connections to finish and saves the state file (if configured).
pub async fn serve(
    listener: TcpListener,
    emulator: Emulator,
    shutdown: impl Future<Output = ()>,
) -> Result<(), EmulatorError> {
    let router = app(emulator.clone());
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                match accepted {
                    Ok((stream, _peer)) => {
                        let _ = stream.set_nodelay(true);
                        spawn_connection(stream, router.clone(), &graceful);
                    }
                    // Out of file descriptors and the like: back off briefly, keep serving.
                    Err(err) => {
                        tracing::warn!("accept failed: {err}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                }
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    // Idle keep-alive connections close at once; busy ones finish their request.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), graceful.shutdown()).await;
    emulator.save_state()
}

fn spawn_connection(stream: tokio::net::TcpStream, router: Router, graceful: &GracefulShutdown) {
    let watcher = graceful.watcher();
    tokio::spawn(async move {
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let router = router.clone();
            async move {
                let response = match router.oneshot(request.map(Body::new)).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                if response.extensions().get::<DropConnection>().is_some() {
                    return Err(Dropped);
                }
                Ok::<_, Dropped>(response)
            }
        });
        let builder = auto::Builder::new(TokioExecutor::new());
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        // Errors here are client disconnects and injected drops: nothing to report.
        let _ = watcher.watch(connection.into_owned()).await;
    });
}

/// An emulator serving on a local port, for tests and embedding.
pub struct RunningEmulator {
    emulator: Emulator,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), EmulatorError>>>,
}

impl RunningEmulator {
    /// `http://127.0.0.1:PORT` — the Vision One and XDR base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/api` — the Deep Security base URL.
    pub fn deep_security_url(&self) -> String {
        format!("{}/api", self.base_url())
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The handle on state, clock, faults and counters.
    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// Stops serving, waits for open requests and saves the state file (if configured).
    pub async fn shutdown(mut self) -> Result<(), EmulatorError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts an emulator on `127.0.0.1:0` (an unused port) in the current Tokio runtime.
pub async fn spawn(config: EmulatorConfig) -> Result<RunningEmulator, EmulatorError> {
    let emulator = Emulator::new(config)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| EmulatorError::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind { addr, source })?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, emulator.clone(), async {
        let _ = stopped.await;
    }));
    Ok(RunningEmulator {
        emulator,
        addr,
        stop: Some(stop),
        task: Some(task),
    })
}

/// Binds `addr` and serves until `shutdown`; used by the command-line front ends.
pub async fn run(
    addr: SocketAddr,
    emulator: Emulator,
    shutdown: impl Future<Output = ()>,
    on_ready: impl FnOnce(SocketAddr),
) -> Result<(), EmulatorError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| EmulatorError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind { addr, source })?;
    on_ready(bound);
    serve(listener, emulator, shutdown).await
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
