//! A turn's end: cancelled (`stop`, a new message, a fault) with `stream_end`, or
//! played out; journaled, logged, counted, and its answer stored in the session.

use tokio::io::{AsyncRead, AsyncWrite};
use tracing::info;

use super::turn::ActiveTurn;
use super::{Connection, Result};
use crate::app::App;
use crate::protocol::{Dialect, Event};

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<'_, S> {
    /// Ends the turn in flight, if any, as [`Self::cancel`] does.
    pub(super) async fn cancel_active(&mut self) -> Result {
        match self.active.take() {
            Some(turn) => self.cancel(turn).await,
            None => Ok(()),
        }
    }

    /// Ends a turn at once: what was sent stays, `stream_end` closes it.
    pub(super) async fn cancel(&mut self, turn: Box<ActiveTurn>) -> Result {
        let sid = turn.session_id.clone();
        self.finish(turn, true);
        self.wire.send(&mut self.ctl, &Event::StreamEnd, &sid).await
    }

    /// A turn is over (`cancelled`: cut short): journaled, logged, counted and its answer
    /// stored.
    pub(super) fn finish(&mut self, turn: Box<ActiveTurn>, cancelled: bool) {
        let what = if cancelled {
            crate::control::What::TurnCancelled {
                scenario: turn.scenario.clone(),
                frames: turn.sent,
                why: std::mem::take(&mut self.ctl.why).into(),
            }
        } else {
            crate::control::What::TurnEnded {
                scenario: turn.scenario.clone(),
                frames: turn.sent,
            }
        };
        self.ctl.record(what);
        info!(
            conn = %self.id,
            scenario = %turn.scenario,
            session = %turn.session_id,
            events = turn.sent,
            cancelled,
            secs = turn.started.elapsed().as_secs_f32(),
            "turn finished"
        );
        if let Some(m) = self.turn_metric.take() {
            m.ended(cancelled);
        }
        self.store_answer(&turn, cancelled);
    }

    /// Stores the answer text, marked as interrupted when the turn was cut short.
    pub(super) fn store_answer(&self, turn: &ActiveTurn, cancelled: bool) {
        store_answer(&self.app, self.wire.dialect(), turn, cancelled);
    }
}

/// Stores a turn's answer text, marked as interrupted when the turn was cut short.
pub(super) fn store_answer(app: &App, dialect: Dialect, turn: &ActiveTurn, cancelled: bool) {
    if turn.failed_by_exception && dialect == Dialect::Dashboard {
        // An exception in the real agent loop stores no answer, not even the part
        // already streamed (addendum C.1 path 2).
        return;
    }
    let mut text = turn.answer.clone();
    if cancelled {
        text.push_str("\n\n[Response interrupted]");
    }
    if !turn.answer.is_empty() || cancelled {
        app.sessions.append(&turn.session_id, "assistant", text);
    }
}
