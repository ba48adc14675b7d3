//! The WebSocket side of `pawmock record`: a client connection and an upstream
//! connection joined by two forwarding loops (one per direction), each frame written
//! to the recording before it is passed on.
//!
//! The upstream is connected before the client's handshake is answered, so a client
//! sees the upstream's own refusal (its HTTP status and body), or 502 / 504 when the
//! upstream cannot be reached, and the log names the upstream and the reason.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};
use warp::http::{HeaderMap, Response, StatusCode};
use warp::hyper::upgrade::OnUpgrade;

use super::Recorder;
use super::line::Direction;
use super::upstream::forwarded_query;
use super::writer::{Origin, RecordingFile};

/// How long the upstream may take to accept a WebSocket.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// After one side closed, how long the other has to finish the closing handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Request headers that belong to one hop's handshake and are not forwarded (the
/// upstream handshake makes its own).
const HANDSHAKE_HEADERS: &[&str] = &[
    "host",
    "connection",
    "upgrade",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-accept",
    "content-length",
    "transfer-encoding",
];

pub(crate) type Reply = Response<bytes::Bytes>;

fn plain(status: StatusCode, body: String) -> Reply {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(bytes::Bytes::from(format!("{body}\n")))
        .expect("static response")
}

/// Answers a client's WebSocket handshake on `path?query` by first opening the same
/// WebSocket upstream.
pub(crate) async fn handshake(
    recorder: Arc<Recorder>,
    path: String,
    query: String,
    headers: HeaderMap,
    on_upgrade: Option<OnUpgrade>,
) -> Reply {
    if headers
        .get("sec-websocket-version")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        != Some("13")
    {
        let mut r = plain(
            StatusCode::UPGRADE_REQUIRED,
            "unsupported Sec-WebSocket-Version: pawmock speaks version 13".into(),
        );
        r.headers_mut().insert(
            "sec-websocket-version",
            "13".parse().expect("static header"),
        );
        return r;
    }
    let (Some(key), Some(on_upgrade)) = (headers.get("sec-websocket-key").cloned(), on_upgrade)
    else {
        return plain(
            StatusCode::BAD_REQUEST,
            "missing Sec-WebSocket-Key, or the request cannot be upgraded (HTTP/1.1 is required)"
                .into(),
        );
    };
    let forwarded = forwarded_query(&query);
    let target = if forwarded.is_empty() {
        format!("{}{path}", recorder.upstream.ws_origin)
    } else {
        format!("{}{path}?{forwarded}", recorder.upstream.ws_origin)
    };
    let conn = recorder.next_connection_id();
    // What the log may show: the target without its token.
    let shown_query = recorder.redactor.query(&forwarded);
    let shown = if shown_query.is_empty() {
        format!("{}{path}", recorder.upstream.ws_origin)
    } else {
        format!("{}{path}?{shown_query}", recorder.upstream.ws_origin)
    };
    let mut request = match target.as_str().into_client_request() {
        Ok(r) => r,
        Err(e) => {
            return plain(
                StatusCode::BAD_REQUEST,
                format!("pawmock record: cannot make an upstream request for {shown}: {e}"),
            );
        }
    };
    for (name, value) in &headers {
        if !HANDSHAKE_HEADERS.contains(&name.as_str()) {
            request.headers_mut().append(name.clone(), value.clone());
        }
    }
    let config = WebSocketConfig::default();
    let connect = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
    let (upstream, response) = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Ok(Ok(pair)) => pair,
        Ok(Err(WsError::Http(refusal))) => {
            let status = refusal.status();
            warn!(conn = %conn, upstream = %shown, status = status.as_u16(), "the upstream refused the WebSocket; the client gets the same status");
            let (parts, body) = refusal.into_parts();
            let mut reply = Response::builder().status(status);
            for (name, value) in &parts.headers {
                if !matches!(
                    name.as_str(),
                    "connection" | "transfer-encoding" | "content-length" | "set-cookie"
                ) {
                    reply = reply.header(name, value);
                }
            }
            return reply
                .body(bytes::Bytes::from(body.unwrap_or_default()))
                .unwrap_or_else(|_| plain(status, String::new()));
        }
        Ok(Err(e)) => {
            warn!(conn = %conn, upstream = %shown, "cannot reach the upstream: {e}; the client gets 502");
            return plain(
                StatusCode::BAD_GATEWAY,
                format!("pawmock record: cannot open the upstream WebSocket {shown}: {e}"),
            );
        }
        Err(_) => {
            warn!(conn = %conn, upstream = %shown, "the upstream did not answer the WebSocket handshake within {}s; the client gets 504", CONNECT_TIMEOUT.as_secs());
            return plain(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "pawmock record: the upstream {shown} did not answer within {}s",
                    CONNECT_TIMEOUT.as_secs()
                ),
            );
        }
    };
    let protocol = response.headers().get("sec-websocket-protocol").cloned();
    let recording = match RecordingFile::create(
        &recorder.out,
        &Origin {
            upstream: &recorder.upstream.ws_origin,
            path: &path,
            query: &shown_query,
            connection: &conn,
        },
        recorder.redactor.clone(),
    ) {
        Ok(r) => {
            info!(conn = %conn, upstream = %shown, file = %r.path().display(), "recording");
            Some(Arc::new(r))
        }
        Err(e) => {
            warn!(conn = %conn, "cannot create a recording in {}: {e}; this connection is proxied without being recorded", recorder.out.display());
            None
        }
    };
    let shutdown = recorder.shutdown.clone();
    recorder.tracker.spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                debug!(conn = %conn, "client upgrade failed: {e}");
                return;
            }
        };
        let io = hyper_util::rt::TokioIo::new(upgraded);
        let client = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
        let end = pump(client, upstream, recording.clone(), shutdown).await;
        info!(conn = %conn, end = %end, "connection closed");
        if let Some(r) = recording
            && r.finish()
        {
            info!(conn = %conn, "the client sent no frame: nothing to replay, so {} was removed", r.path().display());
        }
    });
    let mut reply = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-accept", derive_accept_key(key.as_bytes()));
    if let Some(p) = protocol {
        reply = reply.header("sec-websocket-protocol", p);
    }
    reply
        .body(bytes::Bytes::new())
        .expect("valid upgrade response")
}

/// How one direction ended.
enum Ending {
    /// The closing handshake ran (or the stream ended after it).
    Closed,
    /// The sender vanished without a close frame.
    Lost(String),
}

/// Runs both directions until the connection is over; returns why, for the log.
async fn pump<C, U>(
    client: WebSocketStream<C>,
    upstream: WebSocketStream<U>,
    recording: Option<Arc<RecordingFile>>,
    shutdown: CancellationToken,
) -> String
where
    C: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    U: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (client_tx, client_rx) = client.split();
    let (upstream_tx, upstream_rx) = upstream.split();
    let up = forward(
        client_rx,
        upstream_tx,
        Direction::In,
        recording.clone(),
        shutdown.clone(),
    );
    let down = forward(upstream_rx, client_tx, Direction::Out, recording, shutdown);
    tokio::pin!(up, down);
    // When one side is lost, returning drops both sockets: the other side sees its
    // connection lost too (no close frame), as it would without the recorder.
    let (side, end) = tokio::select! {
        end = &mut up => ("client", end),
        end = &mut down => ("upstream", end),
    };
    match end {
        Ending::Lost(why) => format!("{side} connection lost: {why}"),
        Ending::Closed => {
            let _ = tokio::time::timeout(CLOSE_GRACE, async {
                if side == "client" {
                    (&mut down).await
                } else {
                    (&mut up).await
                }
            })
            .await;
            format!("closed by the {side}")
        }
    }
}

/// Passes frames from `rx` to `tx`, recording each first, until `rx` ends.
async fn forward<R, W>(
    mut rx: R,
    mut tx: W,
    direction: Direction,
    recording: Option<Arc<RecordingFile>>,
    shutdown: CancellationToken,
) -> Ending
where
    R: Stream<Item = Result<Message, WsError>> + Unpin,
    W: Sink<Message, Error = WsError> + Unpin,
{
    let mut closed = false;
    let mut peer_gone = false;
    let mut leaving = false;
    loop {
        let next = tokio::select! {
            next = rx.next() => next,
            // The recorder is shutting down: both sides get 1001, as from `serve`, and
            // their closing handshakes run (and are recorded) as usual.
            _ = shutdown.cancelled(), if !leaving => {
                leaving = true;
                let _ = tx
                    .send(Message::Close(Some(CloseFrame {
                        code: CloseCode::Away,
                        reason: "pawmock record is shutting down".into(),
                    })))
                    .await;
                continue;
            }
        };
        let message = match next {
            None | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {
                return if closed {
                    Ending::Closed
                } else {
                    lost(
                        &recording,
                        direction,
                        "the stream ended without a close frame".into(),
                    )
                };
            }
            Some(Err(e)) => return lost(&recording, direction, e.to_string()),
            Some(Ok(m)) => m,
        };
        if let Some(r) = &recording {
            match &message {
                Message::Text(t) => r.text(direction, t.as_str()),
                Message::Binary(b) => r.binary(direction, b),
                Message::Close(frame) => match frame {
                    Some(f) => r.close(direction, u16::from(f.code), f.reason.as_str()),
                    None => r.close(direction, 1005, ""),
                },
                // Pings and pongs pass, unrecorded: they are the transport's, not the
                // conversation's.
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
        closed |= matches!(message, Message::Close(_));
        if !peer_gone && let Err(e) = tx.send(message).await {
            // The other side has closed or is gone (its own loop reports how). This side
            // is still read to its end, so its own close is recorded too.
            debug!("forwarding stopped: {e}");
            peer_gone = true;
        }
    }
}

fn lost(recording: &Option<Arc<RecordingFile>>, direction: Direction, why: String) -> Ending {
    if let Some(r) = recording {
        r.close(direction, 1006, &why);
    }
    Ending::Lost(why)
}
