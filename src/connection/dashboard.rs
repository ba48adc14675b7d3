//! What the dashboard dialect adds around a turn's frames, as the real backend sends
//! them (addendum C.1–C.3): the empty thinking event after `stream_start`, the answer
//! chunk that follows an agent error, and the `system_event`s every other dashboard
//! connection receives too.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};

use tracing::info;

use super::turn::{ActiveTurn, Due};
use super::{Connection, Result};
use crate::app::{App, Push};
use crate::chaos::Delivery;
use crate::protocol::{Dialect, Event, dialect};
use crate::rng::Rng;

/// The frames around one turn event, worked out while the event is borrowed from the
/// (shared) schedule, sent after.
#[derive(Default)]
pub(super) struct Around {
    /// The event's own frame also goes to every other dashboard connection.
    share: bool,
    /// A frame sent right after the event's own (to this connection only).
    follow: Option<String>,
    /// The turn's empty thinking event, right after `stream_start` (shared too).
    opening: Option<String>,
}

impl Around {
    /// `scripted`: the turn is a script (a recording already holds its opening).
    pub(super) fn of(event: &Event, dialect: Dialect, session: &str, scripted: bool) -> Around {
        if dialect != Dialect::Dashboard {
            return Around::default();
        }
        Around {
            share: dialect::reaches_every_dashboard(event),
            follow: dialect::follow_up(event, dialect),
            opening: (scripted && matches!(event, Event::StreamStart))
                .then(|| dialect::turn_thinking(session)),
        }
    }
}

/// Whether `resume_session=<id>` resumes in the dashboard dialect: a stored session
/// of the form `websocket_<x>`, as the real backend checks for its file.
pub(super) fn resumable(app: &App, id: &str) -> bool {
    id.strip_prefix("websocket_").is_some_and(|x| !x.is_empty())
        && !app.sessions.history(id).is_empty()
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<'_, S> {
    /// Queues a turn event's frame and what goes around it (see [`Around`]).
    pub(super) async fn feed_turn_frame(
        &mut self,
        kind: crate::metrics::FrameKind,
        frame: Option<String>,
        around: Around,
    ) -> Result {
        if around.share
            && let Some(f) = &frame
        {
            self.share(vec![f.clone()]);
        }
        self.wire.feed(&mut self.ctl, kind, frame).await?;
        if around.follow.is_some() {
            let kind = crate::metrics::FrameKind::TEXT_CHUNK;
            self.wire.feed(&mut self.ctl, kind, around.follow).await?;
        }
        if let Some(opening) = around.opening {
            self.share(vec![opening.clone()]);
            let kind = crate::metrics::FrameKind::THINKING;
            self.wire.feed(&mut self.ctl, kind, Some(opening)).await?;
        }
        Ok(())
    }

    /// Before the connection binds to another session: the turn in flight ends. In the
    /// dashboard dialect it is not cancelled but unbound, as on the real backend (its
    /// chat id no longer has a socket, addendum C.3/§3.4): the rest of it goes to every
    /// dashboard connection, this one included, and its whole answer is stored. In the
    /// docs dialect it is cancelled with `stream_end`.
    pub(super) async fn leave_active(&mut self) -> Result {
        if self.wire.dialect() == Dialect::Dashboard
            && let Some(turn) = self.active.take()
        {
            // What was due is on the socket before the switch's reply.
            self.wire.flush(&mut self.ctl).await?;
            play_on_without(
                self.app.clone(),
                turn,
                self.chaos.rng.clone(),
                self.params.run.clone(),
            );
            return Ok(());
        }
        self.cancel_active().await
    }

    /// Pushes frames to every other dashboard connection (none listening is no error).
    fn share(&self, frames: Vec<String>) {
        // This connection is one of the receivers; only push when there are others.
        if self.app.pushes.receiver_count() > 1 {
            let frames: Arc<[String]> = frames.into();
            let _ = self.app.pushes.send(Push::from_connection(
                &self.id,
                self.params.run.as_deref(),
                frames,
            ));
        }
    }
}

/// Plays the rest of a turn whose dashboard connection dropped (or switched session),
/// as the real backend does (addendum C.6): the turn is not cancelled; with no connection bound to it, its
/// remaining frames (chunks and `stream_end` included) go to every dashboard
/// connection, a tab that reconnects among them, and the whole answer is stored.
///
/// A task of its own, tracked so shutdown waits for it; on shutdown (or a chaos fault
/// that ends the turn) the answer so far is stored as interrupted.
pub(super) fn play_on_without(
    app: Arc<App>,
    mut turn: Box<ActiveTurn>,
    mut chaos_rng: Rng,
    run: Option<String>,
) {
    let tracker = app.tracker.clone();
    tracker.spawn(async move {
        info!(scenario = %turn.scenario, session = %turn.session_id, "the turn's connection dropped or left it: it plays on for the dashboard connections of its run");
        let shutdown = app.shutdown.clone();
        // Nobody can resume a paused or frozen turn once its connection is gone: it plays
        // on, as the real backend's would.
        turn.resume(tokio::time::Instant::now());
        loop {
            let due = turn.next_due();
            if let Some(at) = due {
                tokio::select! {
                    _ = shutdown.cancelled() => {
                        super::turn_end::store_answer(&app, Dialect::Dashboard, &turn, true);
                        return;
                    }
                    _ = tokio::time::sleep_until(at) => {}
                }
            }
            let mut frames = Vec::new();
            let mut over = false;
            loop {
                let scripted = turn.scripted;
                match turn.pop_due(tokio::time::Instant::now(), &mut chaos_rng) {
                    Due::Event(event, session) => {
                        frames.extend(rendered(event, session, scripted));
                    }
                    Due::Op(op) => match op.delivery {
                        Delivery::Send(event)
                        | Delivery::Corrupt(event)
                        | Delivery::Fragmented(event, _) => {
                            let session = turn.session_id.clone();
                            frames.extend(rendered(&event, &session, scripted));
                        }
                        Delivery::Nothing => {}
                        Delivery::Close { .. } | Delivery::Abort | Delivery::Halt => {
                            super::turn_end::store_answer(&app, Dialect::Dashboard, &turn, true);
                            return;
                        }
                    },
                    Due::Nothing => break,
                    Due::Finished => {
                        over = true;
                        break;
                    }
                }
            }
            if turn.is_over() || over {
                // Stored before the final stream_end goes out, as on a live connection.
                super::turn_end::store_answer(&app, Dialect::Dashboard, &turn, false);
                over = true;
            }
            if due.is_none() && frames.is_empty() && !over {
                // Nothing due, nothing sent and not over: never spin on such a turn.
                super::turn_end::store_answer(&app, Dialect::Dashboard, &turn, true);
                return;
            }
            if !frames.is_empty() {
                let _ = app.pushes.send(Push::for_run(run.as_deref(), frames));
            }
            if over {
                info!(scenario = %turn.scenario, session = %turn.session_id, "turn finished without its connection");
                return;
            }
        }
    });
}

/// An event's dashboard frames (its own and the one that follows it).
fn rendered(event: &Event, session: &str, scripted: bool) -> Vec<String> {
    let around = Around::of(event, Dialect::Dashboard, session, scripted);
    dialect::render_text(event, Dialect::Dashboard, session)
        .into_iter()
        .chain(around.follow)
        .collect()
}
