//! The connection's side of the control plane: its registry entry, its command channel
//! (one branch of the `select!`), its hold (paused or frozen) and pace, and the journal
//! entries it writes. DESIGN §11: nothing else reaches into a connection. The commands
//! are carried out by `commands.rs` for both kinds of connection; what they need of a
//! PocketPaw one is its `impl Commanded` below.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite};

use super::commands::{Answer, CommandEnd, Commanded, ended};
use super::turn::ActiveTurn;
use super::{Connection, End, Result};
use crate::app::App;
use crate::chaos::Fault;
use crate::chaos::faults::error::Error;
use crate::control::What;
use crate::control::commands::Outgoing;
use crate::control::journal::{self, MAX_BODY, MAX_TEXT};
use crate::control::registry::{Facts, Live};
use crate::playback::Timing;
use crate::protocol::Event;
use crate::rng;

/// Why a connection holds its playhead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hold {
    None,
    /// `POST …/pause`: also holds turns that start meanwhile.
    Paused,
    /// Reached the `?freeze=` marker: holds this turn until `resume`.
    Frozen,
}

/// A connection's control state.
pub(super) struct Ctl {
    app: Arc<App>,
    pub(crate) live: Arc<Live>,
    pub(crate) hold: Hold,
    /// Pace set through the API (multiplies the turn's timing from then on).
    pub(crate) rate: crate::speed::Speed,
    /// Faults injected through the API for the next turn.
    pub(crate) next_faults: Vec<Fault>,
    /// Why the turn being finished ends, for the journal.
    pub(crate) why: &'static str,
    /// When the frame being written was scheduled, and its turn's start.
    pub(crate) scheduled: Option<(Duration, tokio::time::Instant)>,
    /// The type of the last frame written (a `step` answers it).
    pub(crate) last_type: std::borrow::Cow<'static, str>,
    /// The id and run label, shared by every journal entry.
    conn: Arc<str>,
    run: Option<Arc<str>>,
    /// Frame entries not yet in the journal (see [`Ctl::flush_journal`]).
    pending: std::cell::RefCell<Vec<(Duration, What)>>,
    /// The facts last written to the registry.
    seen: Facts,
    seen_choice: crate::protocol::DialectChoice,
    /// A `corrupt` fault injected now: the next frame written is cut in half.
    pub(crate) corrupt_next: bool,
    /// The reason of the close frame, whoever sent it first.
    pub(crate) close_reason: Option<String>,
}

impl Ctl {
    pub(crate) fn new(
        app: &Arc<App>,
        id: &str,
        run: Option<String>,
        query: &str,
        facts: Facts,
    ) -> Ctl {
        let seen = facts.clone();
        let live_run = run.as_deref().map(Arc::from);
        let live = app
            .control
            .registry
            .add(id, run, super::hooks::path_and_query(query), facts);
        Ctl {
            app: app.clone(),
            live,
            hold: Hold::None,
            rate: crate::speed::Speed::NORMAL,
            next_faults: Vec::new(),
            why: "",
            scheduled: None,
            last_type: std::borrow::Cow::Borrowed(""),
            conn: Arc::from(id),
            run: live_run,
            pending: std::cell::RefCell::new(Vec::new()),
            seen,
            seen_choice: crate::protocol::DialectChoice::Auto,
            corrupt_next: false,
            close_reason: None,
        }
    }

    /// Where the wire counts the frames it writes.
    pub(super) fn metrics(&self) -> &crate::metrics::Metrics {
        &self.app.metrics
    }

    /// Journals an entry (after the frames still waiting, so the order stays true).
    pub(crate) fn record(&self, what: What) {
        let journal = &self.app.control.journal;
        let mut pending = self.pending.borrow_mut();
        let entry = std::iter::once((journal.since_start(), what));
        // Without frames waiting the batch buffer is not touched: an idle connection's
        // entries (opened, state) would otherwise allocate it and keep it for good.
        if pending.is_empty() {
            journal.record_batch(&self.conn, &self.run, entry);
        } else {
            journal.record_batch(&self.conn, &self.run, pending.drain(..).chain(entry));
        }
    }

    /// Gives back the frame batch buffer once no turn plays (it is the size of the
    /// largest batch, ~400 bytes and more, kept by every connection that ever sent).
    pub(super) fn release_pending(&self) {
        let mut pending = self.pending.borrow_mut();
        if pending.is_empty() && pending.capacity() > 0 {
            *pending = Vec::new();
        }
    }

    /// Journals the frames written since the last flush, in one go.
    pub(crate) fn flush_journal(&self) {
        let mut pending = self.pending.borrow_mut();
        if !pending.is_empty() {
            let journal = &self.app.control.journal;
            journal.record_batch(&self.conn, &self.run, pending.drain(..));
        }
    }

    /// Journals a frame written to the socket.
    pub(crate) fn frame_sent(&mut self, frame: &str) {
        self.journal_frame(journal::frame_type(frame), frame);
    }

    /// Journals a frame of type `frame_type` written to the socket; its `body` is kept
    /// with `--journal-frames`. Every frame any connection writes is journaled here.
    fn journal_frame(&mut self, frame_type: std::borrow::Cow<'static, str>, body: &str) {
        let journal = &self.app.control.journal;
        let (scheduled_ms, actual_ms) = match self.scheduled.take() {
            Some((at, t0)) => (
                Some(ms(at)),
                Some(ms(tokio::time::Instant::now().saturating_duration_since(t0))),
            ),
            None => (None, None),
        };
        self.last_type = frame_type;
        let body = journal
            .keeps_frames()
            .then(|| journal::truncate(body, MAX_BODY).0);
        // Kept until the socket is flushed (or anything else is journaled), so a batch
        // of frames takes the journal's lock once.
        self.pending.borrow_mut().push((
            journal.since_start(),
            What::FrameSent {
                frame_type: self.last_type.clone(),
                scheduled_ms,
                actual_ms,
                body,
            },
        ));
    }

    /// The frame to write: cut in half when a `corrupt` fault was injected now.
    pub(crate) fn maybe_corrupt(&mut self, frame: String) -> String {
        if !std::mem::take(&mut self.corrupt_next) {
            return frame;
        }
        match super::deliver::corrupt(&frame) {
            tokio_tungstenite::tungstenite::Message::Text(t) => t.to_string(),
            _ => frame,
        }
    }

    pub(crate) fn client_frame(&self, action: String, message: Option<&str>, text: &str) {
        let (text, truncated) = journal::truncate(text, MAX_TEXT);
        self.record(What::ClientFrame {
            action,
            message: message.map(|m| journal::truncate(m, MAX_TEXT).0),
            text,
            truncated,
        });
    }
}

impl Drop for Ctl {
    fn drop(&mut self) {
        self.flush_journal();
        self.live.close();
        self.app.control.registry.remove(&self.live.id);
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<'_, S> {
    /// What is wrong with `?freeze=`, if it names a marker the pinned scenario lacks.
    pub(super) fn freeze_problem(&self) -> Option<String> {
        let freeze = self.params.freeze.as_deref()?;
        let library = self.app.library();
        let scenario = library.get(self.params.scenario.as_deref()?)?;
        let markers = scenario.markers();
        (!markers.iter().any(|m| m == freeze)).then(|| {
            format!(
                "?freeze={freeze}: scenario `{}` has no marker `{freeze}`; its markers: {}",
                scenario.name,
                if markers.is_empty() {
                    "none".to_owned()
                } else {
                    markers.join(", ")
                }
            )
        })
    }

    /// Renders and sends frames now, outside any turn.
    async fn send_now(&mut self, out: Outgoing) -> Result<u64> {
        let before = self.wire.frames_sent();
        match out {
            Outgoing::Raw(text) => {
                let kind = crate::metrics::FrameKind::RAW;
                self.wire.feed(&mut self.ctl, kind, Some(text)).await?
            }
            Outgoing::Steps(steps) => {
                let timing = Timing {
                    speed: crate::speed::Speed::INSTANT,
                    ..Timing::default()
                };
                let mut rng = rng::derive(self.seed, "control:send", 0);
                let events = crate::playback::schedule::expand_steps(&steps, &timing, &mut rng);
                let sid = self.session_id.clone();
                for e in events {
                    // Outside a turn the real backend's one error frame is `type:"error"`
                    // (a legacy reply); an agent error's turn form (addendum C.1) needs a turn.
                    let event = match e.event {
                        Event::AgentError { message, .. } => Event::Error { message },
                        other => other,
                    };
                    let frame = self.wire.render(&event, &sid);
                    let kind = crate::metrics::FrameKind::of(&event);
                    self.wire.feed(&mut self.ctl, kind, frame).await?;
                }
            }
        }
        self.wire.flush(&mut self.ctl).await?;
        Ok(self.wire.frames_sent() - before)
    }
}

/// What the control API's commands (`commands.rs`) need of a PocketPaw connection.
impl<S: AsyncRead + AsyncWrite + Unpin> Commanded for Connection<'_, S> {
    type End = End;
    const NO_TURN: (&'static str, &'static str) = (
        "no turn is in flight",
        "send a chat message first; a paused connection holds the turn it starts",
    );

    fn id(&self) -> &str {
        &self.id
    }

    fn parts(&mut self) -> (&mut Ctl, &mut Option<Box<ActiveTurn>>) {
        (&mut self.ctl, &mut self.active)
    }

    fn frames_sent(&self) -> u64 {
        self.wire.frames_sent()
    }

    fn freeze(&self) -> Option<&str> {
        self.params.freeze.as_deref()
    }

    fn refresh_facts(&mut self) {
        let scenario = self
            .active
            .as_ref()
            .map(|t| t.scenario.as_str())
            .or(self.params.scenario.as_deref());
        let seen = &mut self.ctl.seen;
        if seen.session != self.session_id
            || seen.scenario.as_deref() != scenario
            || self.ctl.seen_choice != self.wire.choice()
        {
            // Field by field, with `clone_from`: a changed session id reuses the old
            // one's buffer, and the unchanged facts are not copied again.
            if self.ctl.seen_choice != self.wire.choice() {
                seen.dialect = self.wire.choice().to_string();
                self.ctl.seen_choice = self.wire.choice();
            }
            seen.session.clone_from(&self.session_id);
            if seen.scenario.as_deref() != scenario {
                seen.scenario = scenario.map(str::to_owned);
            }
            let seen = &self.ctl.seen;
            self.ctl.live.update(|f| {
                f.dialect.clone_from(&seen.dialect);
                f.session.clone_from(&seen.session);
                f.scenario.clone_from(&seen.scenario);
            });
        }
    }

    fn halt(&mut self) {
        if let Some(turn) = self.active.take() {
            self.ctl.why = "fault";
            self.finish(turn, true);
        }
    }

    async fn on_due(&mut self) -> Result {
        Connection::on_due(self).await
    }

    async fn play_one(&mut self, now: tokio::time::Instant, force: bool) -> Result<bool> {
        Connection::play_one(self, now, force).await
    }

    async fn flush(&mut self) -> Result {
        Ok(self.wire.flush(&mut self.ctl).await?)
    }

    async fn send_by_control(&mut self, out: Outgoing) -> Answer<End> {
        let frames = self.send_now(out).await.map_err(ended)?;
        Ok(json!({"applied": "now", "frames": frames}))
    }

    async fn close_by_control(&mut self, code: u16, reason: String) -> Answer<End> {
        let _ = self.chaos_close(code, reason).await;
        Err(CommandEnd::Ended(
            json!({"applied": "now"}),
            End::ByControl(code),
        ))
    }

    async fn close_fault(&mut self, _fault: &Fault, code: u16, reason: String) -> End {
        let _ = self.chaos_close(code, reason).await;
        End::ChaosClose(code)
    }

    async fn abort_fault(&mut self, _fault: &Fault) -> End {
        let _ = self.wire.flush(&mut self.ctl).await;
        End::ChaosAbort
    }

    async fn error_now(&mut self, error: &Error) -> std::result::Result<(), CommandEnd<End>> {
        let Error {
            message,
            end_turn,
            stream_end,
        } = error;
        let sid = self
            .active
            .as_ref()
            .map_or_else(|| self.session_id.clone(), |t| t.session_id.clone());
        let event = Event::Error {
            message: message.clone(),
        };
        self.wire
            .send(&mut self.ctl, &event, &sid)
            .await
            .map_err(ended)?;
        if *end_turn && let Some(turn) = self.active.take() {
            self.ctl.why = "fault";
            self.finish(turn, true);
            if *stream_end {
                self.wire
                    .send(&mut self.ctl, &Event::StreamEnd, &sid)
                    .await
                    .map_err(ended)?;
            }
        }
        Ok(())
    }
}

/// Raw connections (`connection::raw`) share this control state; what differs is only
/// how a frame of a protocol pawmock does not know is journaled.
impl Ctl {
    /// Journals a raw frame written to the socket. It has no PocketPaw `type`, so its
    /// type is `text` or `binary`; its body (with `--journal-frames`) is the text, or
    /// the byte count of a binary frame.
    pub(crate) fn raw_frame_sent(&mut self, frame_type: &'static str, body: &str) {
        self.journal_frame(std::borrow::Cow::Borrowed(frame_type), body);
    }
}
