//! The connection's side of the control plane: its registry entry, its command channel
//! (one branch of the `select!`), its hold (paused or frozen) and pace, and the journal
//! entries it writes. DESIGN §11: nothing else reaches into a connection.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Connection, End, Result};
use crate::app::App;
use crate::chaos::Fault;
use crate::chaos::fault::Effect;
use crate::chaos::faults::{close::Close, error::Error, stall::Stall};
use crate::control::commands::{Command, Envelope, Outgoing};
use crate::control::journal::{self, MAX_BODY, MAX_TEXT};
use crate::control::registry::{Facts, Live};
use crate::control::{ApiError, ConnState, What};
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
    pub live: Arc<Live>,
    pub hold: Hold,
    /// Pace set through the API (multiplies the turn's timing from then on).
    pub rate: crate::speed::Speed,
    /// Faults injected through the API for the next turn.
    pub next_faults: Vec<Fault>,
    /// Why the turn being finished ends, for the journal.
    pub why: &'static str,
    /// When the frame being written was scheduled, and its turn's start.
    pub scheduled: Option<(Duration, tokio::time::Instant)>,
    /// The type of the last frame written (a `step` answers it).
    pub last_type: std::borrow::Cow<'static, str>,
    /// The id and run label, shared by every journal entry.
    conn: Arc<str>,
    run: Option<Arc<str>>,
    /// Frame entries not yet in the journal (see [`Ctl::flush_journal`]).
    pending: std::cell::RefCell<Vec<(Duration, What)>>,
    /// The facts last written to the registry.
    seen: Facts,
    seen_choice: crate::protocol::DialectChoice,
    /// A `corrupt` fault injected now: the next frame written is cut in half.
    pub corrupt_next: bool,
    /// The reason of the close frame, whoever sent it first.
    pub close_reason: Option<String>,
}

impl Ctl {
    pub fn new(app: &Arc<App>, id: &str, run: Option<String>, query: &str, facts: Facts) -> Ctl {
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
    pub fn record(&self, what: What) {
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
    fn release_pending(&self) {
        let mut pending = self.pending.borrow_mut();
        if pending.is_empty() && pending.capacity() > 0 {
            *pending = Vec::new();
        }
    }

    /// Journals the frames written since the last flush, in one go.
    pub fn flush_journal(&self) {
        let mut pending = self.pending.borrow_mut();
        if !pending.is_empty() {
            let journal = &self.app.control.journal;
            journal.record_batch(&self.conn, &self.run, pending.drain(..));
        }
    }

    /// Journals a frame written to the socket.
    pub fn frame_sent(&mut self, frame: &str) {
        let journal = &self.app.control.journal;
        let (scheduled_ms, actual_ms) = match self.scheduled.take() {
            Some((at, t0)) => (
                Some(ms(at)),
                Some(ms(tokio::time::Instant::now().saturating_duration_since(t0))),
            ),
            None => (None, None),
        };
        self.last_type = journal::frame_type(frame);
        let body = journal
            .keeps_frames()
            .then(|| journal::truncate(frame, MAX_BODY).0);
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
    pub fn maybe_corrupt(&mut self, frame: String) -> String {
        if !std::mem::take(&mut self.corrupt_next) {
            return frame;
        }
        match super::deliver::corrupt(&frame) {
            tokio_tungstenite::tungstenite::Message::Text(t) => t.to_string(),
            _ => frame,
        }
    }

    pub fn client_frame(&self, action: String, message: Option<&str>, text: &str) {
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
    /// The state the API shows, kept in the registry; a change is journaled (which
    /// wakes `POST /__pawmock/wait`).
    pub(super) fn sync_state(&mut self) {
        let state = match (self.ctl.hold, &self.active) {
            (Hold::Frozen, Some(_)) => ConnState::Frozen,
            (Hold::Paused, _) => ConnState::Paused,
            (_, Some(_)) => ConnState::Playing,
            (_, None) => ConnState::Idle,
        };
        self.ctl.live.set_frames_sent(self.wire.frames_sent());
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
        if self.ctl.live.set_state(state) {
            self.ctl.record(What::State {
                state: state.name().into(),
            });
        }
        if state == ConnState::Idle {
            self.ctl.release_pending();
        }
    }

    /// Applies the API's hold and pace to a turn that has just started.
    pub(super) fn control_new_turn(&mut self) {
        if self.ctl.hold == Hold::Frozen {
            self.ctl.hold = Hold::None;
        }
        let now = tokio::time::Instant::now();
        let (hold, rate) = (self.ctl.hold, self.ctl.rate);
        if let Some(turn) = self.active.as_mut() {
            if rate != crate::speed::Speed::NORMAL {
                turn.playhead.set_rate(rate, now);
            }
            if hold == Hold::Paused {
                turn.playhead.pause(now);
            }
        }
    }

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

    /// A marker was reached: journaled, and the turn holds there if `?freeze=` names it.
    pub(super) fn on_marker(&mut self, name: &str) -> bool {
        self.ctl.record(What::Marker { name: name.into() });
        if self.params.freeze.as_deref() != Some(name) {
            return false;
        }
        if let Some(turn) = self.active.as_mut() {
            turn.hold_at_last(tokio::time::Instant::now());
            self.ctl.hold = Hold::Frozen;
            tracing::info!(conn = %self.id, marker = name, "frozen at marker");
            return true;
        }
        false
    }

    /// The commands the control API left in the mailbox, in order.
    pub(super) async fn on_commands(&mut self) -> Result {
        while let Some(envelope) = self.ctl.live.next_command() {
            self.on_command(envelope).await?;
        }
        Ok(())
    }

    /// One command from the control API.
    async fn on_command(&mut self, envelope: Envelope) -> Result {
        let Envelope { command, reply } = envelope;
        let name = command.name();
        let (answer, end) = match self.run_command(command).await {
            Ok(v) => (Ok(v), None),
            Err(CommandEnd::Refused(e)) => (Err(e), None),
            Err(CommandEnd::Ended(v, end)) => (Ok(v), Some(end)),
        };
        let outcome = match &answer {
            Ok(v) => v
                .get("applied")
                .and_then(Value::as_str)
                .unwrap_or("done")
                .to_owned(),
            Err(e) => format!("refused: {}", e.error),
        };
        self.ctl.record(What::Command {
            command: name.into(),
            outcome,
        });
        tracing::info!(conn = %self.id, command = name, "control command");
        self.sync_state();
        let _ = reply.send(answer.map(|mut v| {
            v["state"] = json!(self.ctl.live.state());
            v
        }));
        match end {
            Some(end) => Err(end),
            None => Ok(()),
        }
    }

    async fn run_command(&mut self, command: Command) -> std::result::Result<Value, CommandEnd> {
        let now = tokio::time::Instant::now();
        match command {
            Command::Pause => {
                self.ctl.hold = Hold::Paused;
                if let Some(turn) = self.active.as_mut() {
                    turn.playhead.pause(now);
                }
                Ok(json!({"applied": "now"}))
            }
            Command::Resume => {
                self.ctl.hold = Hold::None;
                if let Some(turn) = self.active.as_mut() {
                    turn.resume(now);
                }
                // Whatever became due meanwhile goes out now.
                self.on_due().await.map_err(ended)?;
                Ok(json!({"applied": "now"}))
            }
            Command::Step => {
                if self.ctl.hold == Hold::None {
                    return Err(refused(ApiError::conflict(
                        "the connection is not paused, so there is nothing to step",
                        "POST …/pause first (or open it with ?freeze=MARKER)",
                    )));
                }
                if self.active.is_none() {
                    return Err(refused(ApiError::conflict(
                        "no turn is in flight",
                        "send a chat message first; a paused connection holds the turn it starts",
                    )));
                }
                let sent = self.step_one().await.map_err(ended)?;
                Ok(json!({"applied": "now", "frame": sent}))
            }
            Command::Speed(rate) => {
                self.ctl.rate = rate;
                if let Some(turn) = self.active.as_mut() {
                    turn.playhead.set_rate(rate, now);
                }
                Ok(json!({"applied": "now", "speed": rate}))
            }
            Command::Fault(fault) => self.inject(fault).await,
            Command::Send(out) => {
                let frames = self.send_now(out).await.map_err(ended)?;
                Ok(json!({"applied": "now", "frames": frames}))
            }
            Command::Close { code, reason } => {
                let _ = self.chaos_close(code, reason).await;
                Err(CommandEnd::Ended(
                    json!({"applied": "now"}),
                    End::ByControl(code),
                ))
            }
        }
    }

    /// Plays events until one frame has gone out (markers and frameless events do not
    /// count); the frame's type, or null when the turn ended first.
    async fn step_one(&mut self) -> Result<Option<String>> {
        let before = self.wire.frames_sent();
        while self.active.is_some() && self.wire.frames_sent() == before {
            if !self.play_one(tokio::time::Instant::now(), true).await? {
                break;
            }
        }
        self.wire.flush(&mut self.ctl).await?;
        let sent = self.wire.frames_sent() > before;
        Ok(sent.then(|| self.ctl.last_type.to_string()))
    }

    /// A fault from the API: now when its kind acts on the connection as a whole and it
    /// has no trigger of its own, else on the next turn.
    async fn inject(&mut self, fault: Fault) -> std::result::Result<Value, CommandEnd> {
        // A trigger or an event filter says when the fault acts: that is a turn's business.
        let untriggered = fault.trigger == Default::default() && fault.events.is_none();
        let record = |ctl: &Ctl, stage: &str| {
            // A fault for the next turn is counted when it acts, in `deliver`.
            if stage != "next_turn" {
                ctl.app.metrics.fault_applied(fault.name());
            }
            ctl.record(What::FaultApplied {
                fault: fault.name().into(),
                stage: stage.into(),
                trigger: "control API".into(),
            });
        };
        let now_json = json!({"applied": "now", "fault": fault.name()});
        match &fault.effect {
            Effect::Close(Close { code, reason }) if untriggered => {
                record(&self.ctl, "control");
                let _ = self.chaos_close(*code, reason.clone()).await;
                Err(CommandEnd::Ended(now_json, End::ChaosClose(*code)))
            }
            Effect::Abort(_) if untriggered => {
                record(&self.ctl, "control");
                let _ = self.wire.flush(&mut self.ctl).await;
                Err(CommandEnd::Ended(now_json, End::ChaosAbort))
            }
            Effect::Error(Error {
                message,
                end_turn,
                stream_end,
            }) if untriggered => {
                record(&self.ctl, "control");
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
                Ok(now_json)
            }
            Effect::Corrupt(_) if untriggered && self.active.is_some() => {
                // The turn's next frame goes out malformed.
                record(&self.ctl, "control");
                self.ctl.corrupt_next = true;
                Ok(now_json)
            }
            Effect::Stall(Stall(length)) if untriggered && self.active.is_some() => {
                record(&self.ctl, "control");
                let now = tokio::time::Instant::now();
                match length {
                    Some(d) => {
                        if let Some(turn) = self.active.as_mut() {
                            turn.playhead.stall(now, *d);
                        }
                    }
                    None => {
                        // For good: the turn stops, the socket stays open.
                        let turn = self.active.take().expect("checked above");
                        self.ctl.why = "fault";
                        self.finish(turn, true);
                    }
                }
                Ok(now_json)
            }
            _ => {
                self.ctl.next_faults.push(fault.clone());
                record(&self.ctl, "next_turn");
                Ok(json!({"applied": "next_turn", "fault": fault.name()}))
            }
        }
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

/// How a command ends when it is not a plain answer.
pub(super) enum CommandEnd {
    /// The command cannot apply (4xx); nothing changed.
    Refused(ApiError),
    /// It applied and the connection ends (close, abort), or the socket failed.
    Ended(Value, End),
}

fn refused(e: ApiError) -> CommandEnd {
    CommandEnd::Refused(e)
}

fn ended(end: End) -> CommandEnd {
    CommandEnd::Ended(json!({"applied": "now", "connection": "lost"}), end)
}

/// Raw connections (`connection::raw`) share this control state; what differs is only
/// how a frame of a protocol pawmock does not know is journaled.
impl Ctl {
    /// Journals a raw frame written to the socket. It has no PocketPaw `type`, so its
    /// type is `text` or `binary`; its body (with `--journal-frames`) is the text, or
    /// the byte count of a binary frame.
    pub fn raw_frame_sent(&mut self, frame_type: &'static str, body: &str) {
        let journal = &self.app.control.journal;
        let (scheduled_ms, actual_ms) = match self.scheduled.take() {
            Some((at, t0)) => (
                Some(ms(at)),
                Some(ms(tokio::time::Instant::now().saturating_duration_since(t0))),
            ),
            None => (None, None),
        };
        self.last_type = std::borrow::Cow::Borrowed(frame_type);
        let body = journal
            .keeps_frames()
            .then(|| journal::truncate(body, MAX_BODY).0);
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
}
