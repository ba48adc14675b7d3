//! The client's frames: decoded into actions, or refused with an `error` frame that
//! says what to send instead; its close frame, and the errors that end the connection.

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tracing::{debug, warn};

use super::{Connection, End, Result, hooks, violation};
use crate::metrics::Rejected;
use crate::protocol::action::decode;
use crate::protocol::{Action, Event};

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<'_, S> {
    /// One client frame (or the end of the stream, or a socket error).
    pub(super) async fn on_frame(
        &mut self,
        frame: Option<std::result::Result<Message, WsError>>,
    ) -> Result {
        match frame {
            None => Err(End::ClientClosed(self.wire.client_close())),
            Some(Err(WsError::Capacity(e))) => {
                warn!(conn = %self.id, "client frame too large: {e}");
                self.app.metrics.client_frame_rejected(Rejected::TooLarge);
                Err(End::TooLarge)
            }
            Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {
                Err(End::ClientClosed(self.wire.client_close()))
            }
            Some(Err(e)) => match violation::of(&e) {
                Some((code, why)) => {
                    warn!(conn = %self.id, code, "client broke the WebSocket protocol: {why}");
                    Err(End::Violation(code, why))
                }
                None => Err(End::Gone(e.to_string())),
            },
            Some(Ok(Message::Text(text))) => match decode(&text) {
                Ok(action) => {
                    let message = match &action {
                        Action::Chat { text, .. } => Some(text.as_str()),
                        _ => None,
                    };
                    self.ctl
                        .client_frame(hooks::action_name(&action), message, &text);
                    self.on_action(action).await
                }
                Err(e) => {
                    self.ctl.client_frame("invalid".into(), None, &text);
                    self.app
                        .metrics
                        .client_frame_rejected(Rejected::Undecodable);
                    self.reject_input(e.0).await
                }
            },
            Some(Ok(Message::Binary(bytes))) => {
                self.app.metrics.client_frame_rejected(Rejected::Binary);
                self.reject_input(
                    format!("binary frames are not part of the protocol ({} bytes ignored); send JSON text frames", bytes.len()),
                )
                .await
            }
            Some(Ok(Message::Close(frame))) => {
                // tungstenite answers the close itself; the stream ends next.
                self.ctl.close_reason = frame.as_ref().map(|f| f.reason.to_string());
                let code = frame.map(|f| u16::from(f.code));
                self.wire.client_closed(code);
                debug!(conn = %self.id, code = ?code, "client sent close");
                Ok(())
            }
            Some(Ok(_)) => Ok(()), // ping/pong: tungstenite answers pings while we read
        }
    }

    async fn reject_input(&mut self, message: String) -> Result {
        warn!(conn = %self.id, "bad client frame: {message}");
        self.wire
            .send(&mut self.ctl, &Event::Error { message }, &self.session_id)
            .await
    }
}
