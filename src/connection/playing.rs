//! Playing the turn: the events that are due, a batch at a time, each sent, delivered
//! through its fault, or held at a marker; the turn's end once its last event is out.

use tokio::io::{AsyncRead, AsyncWrite};

use super::commands::Commanded;
use super::turn;
use super::{Connection, Result, dashboard};
use crate::chaos::Delivery;
use crate::metrics::FrameKind;
use crate::protocol::Event;

/// Most events sent in one go before the connection looks at its client again.
const DUE_BATCH: usize = 64;

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<'_, S> {
    /// Sends every event that is due, and moves the turn on (plan gate, end).
    pub(super) async fn on_due(&mut self) -> Result {
        let played = self.play_due().await;
        // Frames due together go out in one write: with TCP_NODELAY (set for cadence)
        // each flush is a segment of its own, and one per frame cost speed 0 more than
        // half its throughput.
        if played.is_ok() {
            self.wire.flush(&mut self.ctl).await?;
        }
        played
    }

    /// Queues the events that are due, at most [`DUE_BATCH`] of them; the caller flushes.
    async fn play_due(&mut self) -> Result {
        let now = tokio::time::Instant::now();
        // At most a batch per call: at speed 0 a whole long answer is due at once, and
        // returning to the `select!` between batches lets a `stop`, a ping, a close or
        // shutdown in (and a client that stopped reading cannot hold shutdown off).
        for _ in 0..DUE_BATCH {
            if !self.play_one(now, false).await? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Queues the next event that is due (`force`: the next one whatever its time, for a
    /// `step`); false when there was none or the turn is over or held.
    pub(super) async fn play_one(
        &mut self,
        now: tokio::time::Instant,
        force: bool,
    ) -> Result<bool> {
        let Some(turn) = self.active.as_mut() else {
            return Ok(false);
        };
        let scripted = turn.scripted;
        // When the next delivery is due (pauses already shifted in), for the lateness
        // histogram; a `step` sends it early on purpose and is not timed.
        let scheduled = if force { None } else { turn.next_due() };
        let due = if force {
            turn.pop_next(now, &mut self.chaos.rng)
        } else {
            turn.pop_due(now, &mut self.chaos.rng)
        };
        match due {
            turn::Due::Event(Event::Marker { name }, _) => {
                let name = name.clone();
                Ok(!self.on_marker(&name))
            }
            turn::Due::Event(event, session) => {
                if let Some(at) = scheduled {
                    self.app.metrics.lateness(now.saturating_duration_since(at));
                }
                let is_end = *event == Event::StreamEnd;
                let kind = FrameKind::of(event);
                let frame = self.wire.render(event, session);
                let around = dashboard::Around::of(event, self.wire.dialect(), session, scripted);
                self.ctl.scheduled = Some((turn.last_scheduled(), turn.t0));
                // The dashboard fetches /api/sessions as soon as it sees the final
                // stream_end, so the answer is stored before that frame goes out.
                if is_end && turn.is_over() {
                    let turn = self.active.take().expect("checked above");
                    self.finish(turn, false);
                }
                self.feed_turn_frame(kind, frame, around).await?;
                Ok(true)
            }
            turn::Due::Op(op) => {
                if let Some(at) = scheduled {
                    self.app.metrics.lateness(now.saturating_duration_since(at));
                }
                let sid = turn.session_id.clone();
                self.ctl.scheduled = Some((turn.last_scheduled(), turn.t0));
                if let Delivery::Send(Event::Marker { name }) = &op.delivery {
                    let name = name.clone();
                    return Ok(!self.on_marker(&name));
                }
                if matches!(op.delivery, Delivery::Send(Event::StreamEnd)) && turn.is_over() {
                    let turn = self.active.take().expect("checked above");
                    self.finish(turn, false);
                }
                self.deliver(op, &sid).await?;
                Ok(true)
            }
            turn::Due::Nothing => Ok(false),
            turn::Due::Finished => {
                let turn = self.active.take().expect("checked above");
                self.finish(turn, false);
                Ok(false)
            }
        }
    }
}
