//! The HTTP side: binding, routes, and graceful shutdown.

mod accept;
mod body;
mod control_api;
mod index;
mod inspector;
mod metrics_route;
pub(crate) mod peer;
mod reminder_ringer;
pub(crate) mod rest;
mod state_writer;
pub(crate) mod static_files;
mod upgrade;
pub(crate) mod watch;

pub(crate) use static_files::static_root;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tracing::info;
use warp::Filter;

use crate::app::App;

/// Binding failed in a way the user can fix.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error(
        "port {port} on {host} is already in use; choose another with --port (or PAWMOCK_PORT), e.g. --port {next}"
    )]
    InUse { host: String, port: u16, next: u16 },
    #[error("cannot listen on {host}:{port}: {source}; check --host and --port")]
    Other {
        host: String,
        port: u16,
        source: std::io::Error,
    },
}

/// Binds the listening socket (before anything else, so a taken port fails fast).
///
/// The socket is made with `TCP_NODELAY`, which accepted connections inherit: a replay
/// server writes many small frames, and with Nagle's algorithm a frame written right
/// after another waits for the client's delayed ACK (about 40 ms on Linux), which would
/// distort exactly the timing pawmock is there to reproduce.
pub async fn bind(host: &str, port: u16) -> Result<TcpListener, BindError> {
    let other = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::AddrInUse {
            BindError::InUse {
                host: host.to_owned(),
                port,
                next: port.wrapping_add(1),
            }
        } else {
            BindError::Other {
                host: host.to_owned(),
                port,
                source,
            }
        }
    };
    let addr = tokio::net::lookup_host((host, port))
        .await
        .map_err(other)?
        .next()
        .ok_or_else(|| {
            other(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the host name has no address",
            ))
        })?;
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .map_err(other)?;
    // As std's TcpListener does on Unix: a restart can bind while old sockets linger in
    // TIME_WAIT (a live listener on the port still makes the bind fail).
    socket.set_reuseaddr(true).map_err(other)?;
    socket.set_nodelay(true).map_err(other)?;
    socket.bind(addr).map_err(other)?;
    socket.listen(1024).map_err(other)
}

/// Binds every address `host` stands for: `localhost` is both 127.0.0.1 and ::1 (Node
/// and some browsers try ::1 first), on the same port; ::1 is skipped, with a warning, on
/// a machine without IPv6. Any other host binds its first address, as [`bind`].
pub(crate) async fn bind_all(host: &str, port: u16) -> Result<Vec<TcpListener>, BindError> {
    if !host.eq_ignore_ascii_case("localhost") {
        return Ok(vec![bind(host, port).await?]);
    }
    let v4 = bind("127.0.0.1", port).await?;
    let port = v4.local_addr().map_or(port, |a| a.port());
    match bind("::1", port).await {
        Ok(v6) => Ok(vec![v4, v6]),
        Err(e) => {
            tracing::warn!("serving on 127.0.0.1 only: {e}");
            Ok(vec![v4])
        }
    }
}

/// Every route pawmock serves, tried in order: the `/ws` upgrade, the inspector
/// (`/__pawmock/` and `/__pawmock/inspector/…`), the control API (`/__pawmock/…`), the
/// dashboard's `/api` calls, `/metrics`, the `--static` frontend (GET and HEAD of any
/// other path) or, without one, the index page at `/`; anything left is a JSON 404
/// naming the path.
pub(crate) fn routes(
    app: Arc<App>,
) -> impl Filter<Extract = (impl warp::Reply,), Error = std::convert::Infallible> + Clone {
    upgrade::route(app.clone())
        // Before the control API, which answers 404 for every other `/__pawmock/` path.
        .or(inspector::route(app.clone()))
        .or(control_api::route(app.clone()))
        .or(rest::route(app.clone()).recover(rest::too_large).unify())
        .or(metrics_route::route(app.clone()))
        .or(static_files::route(app.clone()))
        .or(index::route(app))
        .or(warp::path::full().map(|path: warp::path::FullPath| {
            warp::reply::with_status(
                warp::reply::json(&serde_json::json!({
                    "error": "not found",
                    "path": path.as_str(),
                    "hint": "pawmock serves the WebSocket at /ws, the dashboard's /api calls, and a frontend with --static DIR",
                })),
                warp::http::StatusCode::NOT_FOUND,
            )
        }))
}

/// Serves until `app.shutdown` is cancelled, then closes every WebSocket with 1001 and
/// waits (up to 3 s) for them to finish; sockets not yet upgraded are not waited for.
pub(crate) async fn run(app: Arc<App>, listener: TcpListener) {
    run_all(app, vec![listener]).await;
}

/// [`run`] on several listeners at once (`--host localhost`: 127.0.0.1 and ::1).
pub(crate) async fn run_all(app: Arc<App>, listeners: Vec<TcpListener>) {
    for listener in &listeners {
        let addr: Option<SocketAddr> = listener.local_addr().ok();
        if let Some(addr) = addr {
            info!("serving ws://{addr}/ws");
        }
    }
    tokio::spawn(reminder_ringer::ring(app.clone()));
    let state_writer = app
        .state
        .get()
        .map(|state| tokio::spawn(state_writer::write_changes(app.clone(), state.clone())));
    let limits = accept::Limits {
        handshake_timeout: app.config.handshake_timeout,
        max_pending: app.config.max_pending,
    };
    futures_util::future::join_all(listeners.into_iter().map(|listener| {
        accept::serve(listener, routes(app.clone()), limits, app.shutdown.clone())
    }))
    .await;
    app.tracker.close();
    let _ = tokio::time::timeout(Duration::from_secs(3), app.tracker.wait()).await;
    if let (Some(writer), Some(state)) = (state_writer, app.state.get()) {
        // The last changes (answers stored as the connections closed) are written.
        writer.abort();
        let (state, app) = (state.clone(), app.clone());
        let _ = tokio::task::spawn_blocking(move || state.flush(&app.sessions)).await;
    }
}

/// Starts a server on `listener` in the background (for tests and benchmarks).
pub fn spawn(app: Arc<App>, listener: TcpListener) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(app, listener))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_have_nagle_turned_off() {
        let listener = bind("127.0.0.1", 0).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        assert!(
            accepted.nodelay().unwrap(),
            "TCP_NODELAY is inherited from the listener"
        );
    }

    #[tokio::test]
    async fn a_taken_port_is_reported_as_in_use() {
        let first = bind("127.0.0.1", 0).await.unwrap();
        let port = first.local_addr().unwrap().port();
        assert!(matches!(
            bind("127.0.0.1", port).await,
            Err(BindError::InUse { .. })
        ));
    }
}
