//! How a connection ends: why (`End`), what becomes of the turn in flight, the journal's
//! `closed` entry, pawmock's close frame (and the wait for the client's), and the
//! close log line.

use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tracing::info;

use super::wire::Gone;
use super::{Connection, Result, dashboard};
use crate::protocol::Dialect;

/// Why the loop ended, for the close log line.
#[derive(Debug)]
pub(super) enum End {
    /// The client closed (with this close code, if it sent one).
    ClientClosed(Option<u16>),
    /// The socket failed (the client vanished without a close frame, …).
    Gone(String),
    Shutdown,
    TooLarge,
    /// A chaos `close` fault closed the connection with this code.
    ChaosClose(u16),
    /// A chaos `abort` fault dropped the connection without a close frame.
    ChaosAbort,
    /// The control API closed the connection with this code.
    ByControl(u16),
    /// The client broke RFC 6455 (close code 1007 or 1002, and the reason).
    Violation(u16, String),
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::ClientClosed(Some(code)) => write!(f, "client closed ({code})"),
            End::ClientClosed(None) => write!(f, "client closed"),
            End::Gone(why) => write!(f, "connection lost: {why}"),
            End::Shutdown => write!(f, "server shutdown (1001)"),
            End::TooLarge => write!(f, "client frame too large (1009)"),
            End::ChaosClose(code) => write!(f, "closed by chaos ({code})"),
            End::ChaosAbort => write!(f, "aborted by chaos (no close frame)"),
            End::ByControl(code) => write!(f, "closed through the control API ({code})"),
            End::Violation(code, why) => write!(f, "protocol violation ({code}): {why}"),
        }
    }
}

impl From<Gone> for End {
    fn from(Gone(why): Gone) -> End {
        End::Gone(why)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<'_, S> {
    /// Ends the connection that was opened at `opened`, for the reason `end`.
    pub(super) async fn close(&mut self, end: End, opened: Instant) {
        if let Some(turn) = self.active.take() {
            if self.wire.dialect() == Dialect::Dashboard
                && matches!(end, End::ClientClosed(_) | End::Gone(_))
            {
                // A dropped dashboard socket does not cancel the turn (addendum C.6).
                // It plays on to its end elsewhere, so it counts as completed.
                dashboard::play_on_without(
                    self.app.clone(),
                    turn,
                    self.chaos.rng.clone(),
                    self.params.run.clone(),
                );
                if let Some(m) = self.turn_metric.take() {
                    m.ended(false);
                }
            } else {
                self.ctl.record(crate::control::What::TurnCancelled {
                    scenario: turn.scenario.clone(),
                    frames: turn.sent,
                    why: "connection closed".into(),
                });
                self.store_answer(&turn, true);
                if let Some(m) = self.turn_metric.take() {
                    m.ended(true);
                }
            }
        }
        let (code, by) = match &end {
            End::ClientClosed(code) => (*code, "client"),
            End::Gone(_) => (None, "client"),
            End::Shutdown => (Some(1001), "server"),
            End::TooLarge => (Some(1009), "server"),
            End::ChaosClose(code) | End::ByControl(code) => (Some(*code), "server"),
            End::ChaosAbort => (None, "server"),
            End::Violation(code, why) => {
                self.ctl.close_reason = Some(why.clone());
                (Some(*code), "server")
            }
        };
        let reason = self.ctl.close_reason.take().unwrap_or_default();
        self.ctl.record(crate::control::What::Closed {
            code,
            reason,
            end: end.to_string(),
            by: by.into(),
        });
        match &end {
            End::Shutdown => {
                self.wire
                    .close(CloseCode::Away, "pawmock is shutting down")
                    .await;
            }
            End::TooLarge => {
                let reason = format!(
                    "frame too large: the limit is {} bytes",
                    self.app.config.max_frame_size
                );
                self.wire.close(CloseCode::Size, reason).await;
            }
            End::Violation(code, why) => {
                self.wire.close(CloseCode::from(*code), why.clone()).await;
            }
            End::ClientClosed(_)
            | End::Gone(_)
            | End::ChaosClose(_)
            | End::ChaosAbort
            | End::ByControl(_) => {}
        }
        if matches!(
            end,
            End::Shutdown
                | End::TooLarge
                | End::Violation(..)
                | End::ChaosClose(_)
                | End::ByControl(_)
        ) {
            self.wire.linger().await;
        }
        info!(
            conn = %self.id,
            end = %end,
            dialect = %self.wire.dialect(),
            turns = self.turns,
            frames_sent = self.wire.frames_sent(),
            faults = %self.chaos.summary(),
            secs = opened.elapsed().as_secs_f32(),
            "connection closed"
        );
    }

    /// Closes with a chaos fault's (or the control API's) code and reason.
    pub(super) async fn chaos_close(&mut self, code: u16, reason: String) -> Result {
        self.ctl.close_reason = Some(reason.clone());
        self.wire.close(CloseCode::from(code), reason).await;
        Err(End::ChaosClose(code))
    }
}
