//! The accept loop: pawmock's own instead of `warp::serve`, for three guarantees warp's
//! loop does not give.
//!
//! - **A handshake timeout.** A socket must complete its first request's headers within
//!   `--handshake-timeout` (10 s by default) or it is closed; later keep-alive requests
//!   get the same bound from hyper's header read timeout. Silent sockets and slowloris
//!   clients cannot pile up until the file limit locks everyone out.
//! - **A cap on sockets not yet upgraded** (`--max-pending`): past it a new socket is
//!   closed at once, and upgraded WebSockets never count against it.
//! - **Shutdown that does not wait on them:** at shutdown a pending socket is closed (an
//!   HTTP request being answered gets a second to finish), so a half-sent request cannot
//!   keep Ctrl-C from exiting.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};
use warp::Filter;

/// How long a request in progress at shutdown may take to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);
/// Pause after an accept error such as "too many open files", so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(250);

/// The limits the accept loop enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) handshake_timeout: Duration,
    pub(crate) max_pending: usize,
}

/// Accepts connections on `listener` until `shutdown` is cancelled; returns at once then
/// (pending sockets are closed by their own tasks).
pub(crate) async fn serve<F, R>(
    listener: TcpListener,
    filter: F,
    limits: Limits,
    shutdown: CancellationToken,
) where
    F: Filter<Extract = (R,), Error = Infallible> + Clone + Send + Sync + 'static,
    R: warp::Reply + Send + 'static,
{
    let pending = Arc::new(Semaphore::new(limits.max_pending.max(1)));
    let mut refused: u64 = 0;
    let mut last_warning: Option<tokio::time::Instant> = None;
    loop {
        let accepted = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                warn!(
                    "cannot accept a connection: {e}; if this says too many open files, raise the limit (ulimit -n) or lower --max-pending"
                );
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        let Ok(permit) = pending.clone().try_acquire_owned() else {
            refused += 1;
            // One line a second at most: a flood must not flood the log too.
            if last_warning.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                warn!(
                    max_pending = limits.max_pending,
                    refused,
                    "too many sockets have not finished their handshake; new ones are closed at once (see --max-pending, --handshake-timeout)"
                );
                last_warning = Some(tokio::time::Instant::now());
            }
            drop(stream);
            continue;
        };
        tokio::spawn(connection(
            stream,
            filter.clone(),
            limits.handshake_timeout,
            shutdown.clone(),
            permit,
        ));
    }
}

/// Serves one accepted socket until it is upgraded, closed, timed out or shut down.
/// The permit is released when this returns, so an upgraded WebSocket no longer counts.
async fn connection<F, R>(
    stream: TcpStream,
    filter: F,
    handshake_timeout: Duration,
    shutdown: CancellationToken,
    _permit: OwnedSemaphorePermit,
) where
    F: Filter<Extract = (R,), Error = Infallible> + Clone + Send + Sync + 'static,
    R: warp::Reply + Send + 'static,
{
    // Told when the first request's headers are in (the service is only called then).
    let request_seen = Arc::new(Notify::new());
    let seen = request_seen.clone();
    let service = warp::service(
        warp::any()
            .map(move || seen.notify_one())
            .untuple_one()
            .and(filter),
    );
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(handshake_timeout);
    let service = crate::server::peer::WithPeer {
        inner: service,
        peer: stream.peer_addr().ok(),
    };
    let conn = builder
        .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
    tokio::pin!(conn);
    let first_request = tokio::time::timeout(handshake_timeout, request_seen.notified());
    tokio::select! {
        biased;
        _ = shutdown.cancelled() => return,
        result = &mut conn => {
            if let Err(e) = result {
                debug!("HTTP connection ended: {e}");
            }
            return;
        }
        timed_out = first_request => {
            if timed_out.is_err() {
                debug!(
                    "closed a socket that sent no complete request within {}",
                    humantime::format_duration(handshake_timeout)
                );
                return;
            }
        }
    }
    tokio::select! {
        result = &mut conn => {
            if let Err(e) = result {
                debug!("HTTP connection ended: {e}");
            }
        }
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
        }
    }
}

/// Errors of one connection that surface at accept; they say nothing about the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
