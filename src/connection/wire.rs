//! The wire: a connection's WebSocket, the dialect its frames are rendered in, the
//! frames fed and not yet flushed, and the count of frames sent. Every frame pawmock
//! writes to any connection (PocketPaw or raw) goes through here, so it is counted in
//! `/metrics`, journaled and (after a `corrupt` fault injected now) cut in one place:
//! the role of `connection.rs` in tokio's mini-redis.

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};

use super::End;
use super::control::Ctl;
use crate::metrics::FrameKind;
use crate::protocol::raw::RawFrame;
use crate::protocol::{Dialect, DialectChoice, Event, dialect};

/// How long a connection that sent its close frame waits for the client's.
const LINGER: std::time::Duration = std::time::Duration::from_secs(1);

/// The socket failed while pawmock wrote to it (the client vanished, …): the one way
/// a write ends a connection. Each kind of connection turns it into its own `End` (the
/// PocketPaw-only methods answer PocketPaw's `End` directly, as all their callers want).
#[derive(Debug)]
pub(crate) struct Gone(pub(crate) String);

/// What a PocketPaw connection renders its events in.
pub(crate) struct PocketPaw {
    /// The dialect asked for (`?dialect=`, else `--dialect`), or the one detected.
    choice: DialectChoice,
    /// The dialect events are rendered in (`docs` until a dashboard frame is seen on
    /// an auto-detecting connection).
    dialect: Dialect,
}

/// A raw connection speaks a protocol pawmock does not know: its frames are written as
/// they were recorded, with nothing to render them in.
pub(crate) struct Recorded;

/// A connection's socket and what is written to it; `P` is what frames are written in
/// (PocketPaw's dialects, or frames as recorded).
///
/// The socket is borrowed for the connection's whole life rather than owned: the panic
/// net under the connection's task (`net.rs`) keeps it, to close it with 1011 should
/// the task panic.
pub(crate) struct Wire<'a, S, P = PocketPaw> {
    ws: &'a mut WebSocketStream<S>,
    /// Frames written so far (a fragmented or corrupt delivery counts as one).
    frames_sent: u64,
    protocol: P,
    /// Frames fed to the socket and not yet flushed.
    unflushed: bool,
    /// The code of the client's close frame, once it sent one.
    client_close: Option<u16>,
}

type Result<T = ()> = std::result::Result<T, Gone>;

/// A PocketPaw connection's wire: events rendered in its dialect.
impl<'a, S: AsyncRead + AsyncWrite + Unpin> Wire<'a, S> {
    pub(crate) fn new(
        ws: &'a mut WebSocketStream<S>,
        choice: DialectChoice,
        dialect: Dialect,
    ) -> Self {
        Wire::over(ws, PocketPaw { choice, dialect })
    }

    pub(crate) fn dialect(&self) -> Dialect {
        self.protocol.dialect
    }

    pub(crate) fn choice(&self) -> DialectChoice {
        self.protocol.choice
    }

    /// The dialect an auto-detecting connection's client turned out to speak.
    pub(crate) fn detected(&mut self, dialect: Dialect) {
        self.protocol.dialect = dialect;
        self.protocol.choice = if dialect == Dialect::Dashboard {
            DialectChoice::Dashboard
        } else {
            DialectChoice::Docs
        };
    }

    /// An event's frame in this connection's dialect (`None`: the dialect has none).
    pub(crate) fn render(&self, event: &Event, session: &str) -> Option<String> {
        dialect::render_text(event, self.protocol.dialect, session)
    }

    /// Sends one event now, rendered for `session` (skipped when the dialect has no
    /// frame for it).
    pub(crate) async fn send(
        &mut self,
        ctl: &mut Ctl,
        event: &Event,
        session: &str,
    ) -> super::Result {
        let Some(frame) = self.render(event, session) else {
            return Ok(());
        };
        self.feed(ctl, FrameKind::of(event), Some(frame)).await?;
        Ok(self.flush(ctl).await?)
    }

    /// Queues a rendered frame to go out with the next [`Wire::flush`] (`None`: the
    /// dialect has no frame for the event, nothing is queued). Frames due together are
    /// fed, then flushed once: with TCP_NODELAY every flush is a segment of its own.
    pub(crate) async fn feed(
        &mut self,
        ctl: &mut Ctl,
        kind: FrameKind,
        frame: Option<String>,
    ) -> super::Result {
        let Some(frame) = frame else {
            return Ok(());
        };
        ctl.metrics().frame_sent(kind, frame.len());
        ctl.frame_sent(&frame);
        let frame = ctl.maybe_corrupt(frame);
        Ok(self
            .feed_messages(std::iter::once(Message::text(frame)))
            .await?)
    }

    /// Writes chaos's messages as they are (a corrupt frame, a fragmented message) and
    /// flushes them with whatever was queued; they count as one frame sent.
    pub(crate) async fn send_raw(
        &mut self,
        ctl: &mut Ctl,
        kind: FrameKind,
        messages: Vec<Message>,
    ) -> super::Result {
        for m in messages {
            ctl.metrics().frame_sent(kind, m.len());
            if let Message::Text(t) = &m {
                ctl.frame_sent(t.as_str());
            }
            self.ws.feed(m).await.map_err(|e| End::from(gone(e)))?;
        }
        ctl.flush_journal();
        self.ws.flush().await.map_err(|e| End::from(gone(e)))?;
        self.unflushed = false;
        self.frames_sent += 1;
        Ok(())
    }
}

/// What every wire does, whatever its frames are written in.
impl<'a, S: AsyncRead + AsyncWrite + Unpin, P> Wire<'a, S, P> {
    fn over(ws: &'a mut WebSocketStream<S>, protocol: P) -> Self {
        Wire {
            ws,
            frames_sent: 0,
            protocol,
            unflushed: false,
            client_close: None,
        }
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

    /// Flushes what was fed and not yet flushed, if anything, and journals it.
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

    /// Sends a close frame without a code (a recording's server closed so: 1005).
    pub(crate) async fn close_without_code(&mut self) {
        let _ = self.ws.close(None).await;
    }

    /// Queues the messages that carry one frame (several when it is fragmented); the
    /// frame is counted once.
    async fn feed_messages(&mut self, messages: impl IntoIterator<Item = Message>) -> Result {
        for m in messages {
            self.ws.feed(m).await.map_err(gone)?;
        }
        self.unflushed = true;
        self.frames_sent += 1;
        Ok(())
    }
}

/// A raw connection's frames: written as recorded, counted under the frame kind
/// `frame` (`FrameKind::RAW`), journaled with the type `text` or `binary`.
impl<'a, S: AsyncRead + AsyncWrite + Unpin> Wire<'a, S, Recorded> {
    pub(crate) fn recorded(ws: &'a mut WebSocketStream<S>) -> Self {
        Wire::over(ws, Recorded)
    }

    /// Queues a recorded text or binary frame to go out with the next flush, cut in half
    /// when a `corrupt` fault was injected now (a close frame is not written here: the
    /// connection closes).
    pub(crate) async fn feed_frame(&mut self, ctl: &mut Ctl, frame: &RawFrame) -> Result {
        let cut;
        let frame = if std::mem::take(&mut ctl.corrupt_next) {
            cut = frame.corrupted();
            &cut
        } else {
            frame
        };
        let Some(message) = frame.message() else {
            return Ok(());
        };
        self.feed_recorded(ctl, frame, std::iter::once(message))
            .await
    }

    /// Queues the messages that carry one recorded frame as they are (the pieces of a
    /// fragmented frame, a frame the control API sends); counted and journaled once,
    /// as the whole frame.
    pub(crate) async fn feed_recorded(
        &mut self,
        ctl: &mut Ctl,
        frame: &RawFrame,
        messages: impl IntoIterator<Item = Message>,
    ) -> Result {
        ctl.metrics()
            .frame_sent(FrameKind::RAW, frame.payload().len());
        ctl.raw_frame_sent(frame.type_name(), &frame.journal_text());
        self.feed_messages(messages).await
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

fn gone(e: WsError) -> Gone {
    Gone(e.to_string())
}
