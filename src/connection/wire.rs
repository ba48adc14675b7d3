//! The wire: a connection's WebSocket, the dialect its frames are rendered in, the
//! frames fed and not yet flushed, and the count of frames sent. Every frame pawmock
//! writes to a PocketPaw connection goes through here, so it is counted in `/metrics`,
//! journaled and (after a `corrupt` fault injected now) cut in one place: the role of
//! `connection.rs` in tokio's mini-redis.

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};

use super::control::Ctl;
use super::{End, Result};
use crate::metrics::FrameKind;
use crate::protocol::{Dialect, DialectChoice, Event, dialect};

/// How long a connection that sent its close frame waits for the client's.
const LINGER: std::time::Duration = std::time::Duration::from_secs(1);

/// A connection's socket and what is written to it.
///
/// The socket is borrowed for the connection's whole life rather than owned: the panic
/// net under the connection's task (`net.rs`) keeps it, to close it with 1011 should
/// the task panic.
pub(crate) struct Wire<'a, S> {
    ws: &'a mut WebSocketStream<S>,
    /// Frames written so far (a fragmented or corrupt delivery counts as one).
    frames_sent: u64,
    /// The dialect asked for (`?dialect=`, else `--dialect`), or the one detected.
    choice: DialectChoice,
    /// The dialect events are rendered in (`docs` until a dashboard frame is seen on
    /// an auto-detecting connection).
    dialect: Dialect,
    /// Frames fed to the socket and not yet flushed.
    unflushed: bool,
    /// The code of the client's close frame, once it sent one.
    client_close: Option<u16>,
}

impl<'a, S: AsyncRead + AsyncWrite + Unpin> Wire<'a, S> {
    pub(crate) fn new(
        ws: &'a mut WebSocketStream<S>,
        choice: DialectChoice,
        dialect: Dialect,
    ) -> Self {
        Wire {
            ws,
            frames_sent: 0,
            choice,
            dialect,
            unflushed: false,
            client_close: None,
        }
    }

    pub(crate) fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub(crate) fn choice(&self) -> DialectChoice {
        self.choice
    }

    /// The dialect an auto-detecting connection's client turned out to speak.
    pub(crate) fn detected(&mut self, dialect: Dialect) {
        self.dialect = dialect;
        self.choice = if dialect == Dialect::Dashboard {
            DialectChoice::Dashboard
        } else {
            DialectChoice::Docs
        };
    }

    /// The code of the client's close frame, once it sent one.
    pub(crate) fn client_close(&self) -> Option<u16> {
        self.client_close
    }

    /// The client sent its close frame (tungstenite answers it; the stream ends next).
    pub(crate) fn client_closed(&mut self, code: Option<u16>) {
        self.client_close = code;
    }

    pub(crate) fn frames_sent(&self) -> u64 {
        self.frames_sent
    }

    /// The client's next frame (`None` once the stream has ended).
    pub(crate) fn next(&mut self) -> futures_util::stream::Next<'_, WebSocketStream<S>> {
        self.ws.next()
    }

    /// An event's frame in this connection's dialect (`None`: the dialect has none).
    pub(crate) fn render(&self, event: &Event, session: &str) -> Option<String> {
        dialect::render_text(event, self.dialect, session)
    }

    /// Sends one event now, rendered for `session` (skipped when the dialect has no
    /// frame for it).
    pub(crate) async fn send(&mut self, ctl: &mut Ctl, event: &Event, session: &str) -> Result {
        let Some(frame) = self.render(event, session) else {
            return Ok(());
        };
        self.feed(ctl, FrameKind::of(event), Some(frame)).await?;
        self.flush(ctl).await
    }

    /// Queues a rendered frame to go out with the next [`Wire::flush`] (`None`: the
    /// dialect has no frame for the event, nothing is queued). Frames due together are
    /// fed, then flushed once: with TCP_NODELAY every flush is a segment of its own.
    pub(crate) async fn feed(
        &mut self,
        ctl: &mut Ctl,
        kind: FrameKind,
        frame: Option<String>,
    ) -> Result {
        let Some(frame) = frame else {
            return Ok(());
        };
        ctl.metrics().frame_sent(kind, frame.len());
        ctl.frame_sent(&frame);
        let frame = ctl.maybe_corrupt(frame);
        self.ws.feed(Message::text(frame)).await.map_err(gone)?;
        self.unflushed = true;
        self.frames_sent += 1;
        Ok(())
    }

    /// Writes chaos's messages as they are (a corrupt frame, a fragmented message) and
    /// flushes them with whatever was queued; they count as one frame sent.
    pub(crate) async fn send_raw(
        &mut self,
        ctl: &mut Ctl,
        kind: FrameKind,
        messages: Vec<Message>,
    ) -> Result {
        for m in messages {
            ctl.metrics().frame_sent(kind, m.len());
            if let Message::Text(t) = &m {
                ctl.frame_sent(t.as_str());
            }
            self.ws.feed(m).await.map_err(gone)?;
        }
        ctl.flush_journal();
        self.ws.flush().await.map_err(gone)?;
        self.unflushed = false;
        self.frames_sent += 1;
        Ok(())
    }

    /// Flushes what [`Wire::feed`] queued, if anything, and journals it.
    pub(crate) async fn flush(&mut self, ctl: &mut Ctl) -> Result {
        if std::mem::take(&mut self.unflushed) {
            ctl.flush_journal();
            self.ws.flush().await.map_err(gone)?;
        }
        Ok(())
    }

    /// Sends pawmock's close frame (a failure is no matter: the connection ends anyway).
    pub(crate) async fn close(&mut self, code: CloseCode, reason: impl Into<Utf8Bytes>) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = self.ws.close(Some(frame)).await;
    }

    /// After pawmock's close frame: waits for the client's (see [`linger`]).
    pub(crate) async fn linger(&mut self) {
        linger(self.ws).await;
    }
}

/// After pawmock's close frame: reads (and drops) what the client still sends until its
/// close frame or the end of the stream, for at most [`LINGER`], before TCP is closed
/// (RFC 6455 §7.1.1). Closing at once with client frames unread makes the kernel send a
/// reset, and a browser that sees it before reading the close frame reports 1006
/// instead of the code that was sent.
pub(super) async fn linger<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) {
    let _ =
        tokio::time::timeout(LINGER, async { while let Some(Ok(_)) = ws.next().await {} }).await;
}

fn gone(e: WsError) -> End {
    End::Gone(e.to_string())
}
