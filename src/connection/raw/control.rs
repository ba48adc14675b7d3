//! A raw connection's side of the control plane: the same [`Ctl`](super::Ctl) (registry
//! entry, mailbox, hold, pace, journal), the same playhead and the same command code
//! (`connection/commands.rs`) as a PocketPaw connection, with the commands carried out
//! on recorded frames.
//!
//! What differs is what a protocol pawmock does not know allows: `send` sends a text
//! frame as given (there is no dialect to render steps in), the `error` fault is
//! refused (pawmock cannot say "error" in that protocol), a turn is an exchange and the
//! one after it may be queued.

use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite};

use super::super::commands::{Answer, CommandEnd, Commanded, ended};
use super::super::turn::ActiveTurn;
use super::{End, RawConnection, Result};
use crate::chaos::Fault;
use crate::chaos::fault::Effect;
use crate::chaos::faults::error::Error;
use crate::control::ApiError;
use crate::control::commands::Outgoing;
use crate::protocol::raw::RawFrame;

impl<S: AsyncRead + AsyncWrite + Unpin> RawConnection<'_, S> {
    /// What is wrong with `?freeze=`, if it names a marker the recording lacks.
    pub(super) fn freeze_problem(&self) -> Option<String> {
        let freeze = self.freeze.as_deref()?;
        let markers = self.script.markers();
        (!markers.iter().any(|m| m == freeze)).then(|| {
            format!(
                "?freeze={freeze}: recording `{}` has no marker `{freeze}` (a line [0, \"marker\", \"{freeze}\"]); its markers: {}",
                self.scenario.name,
                if markers.is_empty() {
                    "none".to_owned()
                } else {
                    markers.join(", ")
                }
            )
        })
    }
}

/// An `error` fault needs an error frame of the protocol, which pawmock does not know.
fn no_error_frame() -> ApiError {
    ApiError::bad_request(
        "an `error` fault needs an error frame of the protocol, and pawmock does not know this one",
        r#"send your protocol's error frame with POST …/send {"raw": "…"}, or use close, abort, stall or corrupt"#,
    )
}

/// What the control API's commands (`commands.rs`) need of a raw connection.
impl<S: AsyncRead + AsyncWrite + Unpin> Commanded for RawConnection<'_, S> {
    type End = End;
    const NO_TURN: (&'static str, &'static str) = (
        "no exchange is in flight",
        "send a recorded client frame first; a paused connection holds the exchange it starts",
    );
    const LOG_DIALECT: Option<&'static str> = Some("raw");

    fn id(&self) -> &str {
        &self.id
    }

    fn parts(&mut self) -> (&mut super::Ctl, &mut Option<Box<ActiveTurn>>) {
        (&mut self.ctl, &mut self.active)
    }

    fn frames_sent(&self) -> u64 {
        self.wire.frames_sent()
    }

    fn freeze(&self) -> Option<&str> {
        self.freeze.as_deref()
    }

    fn refusal(&self, fault: &Fault) -> Option<ApiError> {
        matches!(fault.effect, Effect::Error(_)).then(no_error_frame)
    }

    /// The exchange stops for good (the socket stays open); a queued one starts.
    fn halt(&mut self) {
        if let Some(turn) = self.active.take() {
            self.ctl.why = "fault";
            self.finish(turn, true);
            self.start_queued();
        }
    }

    async fn on_due(&mut self) -> Result {
        RawConnection::on_due(self).await
    }

    async fn play_one(&mut self, now: tokio::time::Instant, force: bool) -> Result<bool> {
        RawConnection::play_one(self, now, force).await
    }

    async fn flush(&mut self) -> Result {
        Ok(self.wire.flush(&mut self.ctl).await?)
    }

    async fn send_by_control(&mut self, out: Outgoing) -> Answer<End> {
        match out {
            Outgoing::Raw(text) => {
                let frame = RawFrame::Text(text.into());
                self.wire
                    .feed_recorded(&mut self.ctl, &frame, frame.message())
                    .await
                    .map_err(ended)?;
                self.wire.flush(&mut self.ctl).await.map_err(ended)?;
                Ok(json!({"applied": "now", "frames": 1}))
            }
            Outgoing::Steps(_) => Err(CommandEnd::Refused(ApiError::bad_request(
                "this connection replays a raw recording: pawmock does not know its protocol, so it cannot render steps in it",
                r#"send the frame as your protocol writes it: {"raw": "…"}"#,
            ))),
        }
    }

    async fn close_by_control(&mut self, code: u16, reason: String) -> Answer<End> {
        match self.close(code, reason).await {
            End::Closed(code) => Err(CommandEnd::Ended(
                json!({"applied": "now"}),
                End::ByControl(code),
            )),
            end => Err(ended(end)),
        }
    }

    async fn close_fault(&mut self, fault: &Fault, code: u16, reason: String) -> End {
        self.chaos.acted(fault.kind());
        self.close(code, reason).await
    }

    async fn abort_fault(&mut self, fault: &Fault) -> End {
        self.chaos.acted(fault.kind());
        let _ = self.wire.flush(&mut self.ctl).await;
        End::Aborted
    }

    async fn error_now(&mut self, _error: &Error) -> std::result::Result<(), CommandEnd<End>> {
        // Refused before it gets here (`refusal`); refused here too, should it ever.
        Err(CommandEnd::Refused(no_error_frame()))
    }
}
