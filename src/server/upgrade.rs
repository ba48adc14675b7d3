//! The `/ws` upgrade, completed with tokio-tungstenite instead of `warp::ws()`.
//!
//! warp's own upgrade gives every connection a fixed 128 KiB read buffer and no raw
//! frames. Doing it here gives a small read buffer, a limit on client frames, the
//! subprotocol echo browsers insist on, and the raw socket chaos will need.

use std::sync::Arc;

use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tracing::{debug, info};
use warp::Filter;
use warp::http::{Response, StatusCode};
use warp::hyper::upgrade::OnUpgrade;

use crate::app::App;

/// Read buffer per connection: client frames are small chat actions. tungstenite
/// allocates it up front and zeroes it on the first read, so every idle connection holds
/// all of it; a larger frame grows it as needed (up to `--max-frame-size`).
const READ_BUFFER: usize = 1024;

type Reply = Response<String>;

pub(crate) fn route(
    app: Arc<App>,
) -> impl Filter<Extract = (Reply,), Error = warp::Rejection> + Clone {
    warp::path("ws")
        .and(warp::path::end())
        .and(warp::get())
        .and(warp::header::optional::<String>("upgrade"))
        .and(warp::header::optional::<String>("sec-websocket-key"))
        .and(warp::header::optional::<String>("sec-websocket-version"))
        .and(warp::header::optional::<String>("sec-websocket-protocol"))
        .and(warp::header::optional::<String>("host"))
        .and(warp::ext::optional::<OnUpgrade>())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .map(
            move |upgrade: Option<String>,
                  key: Option<String>,
                  version: Option<String>,
                  protocols: Option<String>,
                  host: Option<String>,
                  on_upgrade: Option<OnUpgrade>,
                  query: String| {
                handshake(
                    app.clone(),
                    Handshake {
                        upgrade,
                        key,
                        version,
                        protocols,
                        host,
                        on_upgrade,
                        query,
                    },
                )
            },
        )
}

struct Handshake {
    upgrade: Option<String>,
    key: Option<String>,
    version: Option<String>,
    protocols: Option<String>,
    /// The `Host` the client used, so replies name the address it really reached.
    host: Option<String>,
    on_upgrade: Option<OnUpgrade>,
    query: String,
}

fn plain(status: StatusCode, body: &str) -> Reply {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(format!("{body}\n"))
        .expect("static response")
}

fn handshake(app: Arc<App>, h: Handshake) -> Reply {
    if !h
        .upgrade
        .as_deref()
        .is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
    {
        let address = h.host.as_deref().unwrap_or("HOST:PORT");
        let mut r = plain(
            StatusCode::UPGRADE_REQUIRED,
            &format!(
                "This is pawmock's WebSocket endpoint: connect with a WebSocket client, e.g. ws://{address}/ws"
            ),
        );
        r.headers_mut()
            .insert("upgrade", "websocket".parse().expect("static header"));
        return r;
    }
    if h.version.as_deref().map(str::trim) != Some("13") {
        let mut r = plain(
            StatusCode::UPGRADE_REQUIRED,
            "unsupported Sec-WebSocket-Version: pawmock speaks version 13",
        );
        r.headers_mut().insert(
            "sec-websocket-version",
            "13".parse().expect("static header"),
        );
        return r;
    }
    let (Some(key), Some(on_upgrade)) = (h.key, h.on_upgrade) else {
        return plain(
            StatusCode::BAD_REQUEST,
            "missing Sec-WebSocket-Key, or the request cannot be upgraded (HTTP/1.1 is required)",
        );
    };
    let setup = crate::connection::Setup::new(&app, &h.query);
    crate::connection::hooks::handshake(&app, &setup);
    if let Some(refusal) = &setup.refusal {
        info!(
            query = %h.query,
            attempt = setup.chaos.attempt,
            fault = refusal.fault,
            status = refusal.status,
            "fault injected: handshake refused"
        );
        app.metrics.handshake_refused(refusal.fault);
        let status =
            StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return plain(status, &refusal.body);
    }
    // Echo exactly one of the offered subprotocols (browsers fail the handshake if
    // they offered some and none comes back).
    let protocol = h
        .protocols
        .as_deref()
        .and_then(|p| p.split(',').map(str::trim).find(|p| !p.is_empty()))
        .map(str::to_owned);
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_frame_size(Some(app.config.max_frame_size))
        .max_message_size(Some(app.config.max_frame_size));
    let tracker = app.tracker.clone();
    // Boxed: a task keeps room for everything its future captures for the connection's
    // whole life, and a `Setup` is about 560 bytes against the box's 8.
    let setup = Box::new(setup);
    tracker.spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                debug!("upgrade failed: {e}");
                return;
            }
        };
        let io = hyper_util::rt::TokioIo::new(upgraded);
        let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
        // A pinned `raw` recording replays frame for frame (`connection::raw`).
        match crate::connection::raw::pinned(&app, &setup) {
            // Boxed: the raw player's future is the larger, and inline every
            // connection's task would be its size.
            Some((scenario, script)) => {
                // Out of its box in a block of its own, so the box is freed now, not
                // when the connection ends (as `connection::serve` does).
                let setup = {
                    let boxed = setup;
                    *boxed
                };
                Box::pin(crate::connection::raw::serve(
                    app, ws, setup, scenario, script,
                ))
                .await
            }
            None => crate::connection::serve(app, ws, setup).await,
        }
    });
    let mut response = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-accept", derive_accept_key(key.as_bytes()));
    if let Some(p) = protocol {
        response = response.header("sec-websocket-protocol", p);
    }
    response
        .body(String::new())
        .expect("valid upgrade response")
}
