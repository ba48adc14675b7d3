//! The control API's commands carried out on a live connection of either kind
//! (PocketPaw or raw): pause, resume, step, speed, a fault now or on the next turn,
//! send, close; the hold at a `?freeze=` marker, and the state kept in the registry.
//!
//! The logic is written once, over [`Commanded`]: each kind of connection says only
//! what differs (how it plays and flushes, what `send` and `close` write, which faults
//! it refuses, what its turn is called).

use serde_json::{Value, json};
use tokio::time::Instant;

use super::control::{Ctl, Hold};
use super::turn::ActiveTurn;
use crate::chaos::Fault;
use crate::chaos::fault::Effect;
use crate::chaos::faults::{close::Close, error::Error, stall::Stall};
use crate::control::commands::{Command, Envelope, Outgoing};
use crate::control::{ApiError, ConnState, What};

/// How a command ends when it is not a plain answer.
pub(super) enum CommandEnd<E> {
    /// The command cannot apply (4xx); nothing changed.
    Refused(ApiError),
    /// It applied and the connection ends (close, abort), or the socket failed.
    Ended(Value, E),
}

/// A command's answer, or how it ended otherwise.
pub(super) type Answer<E> = std::result::Result<Value, CommandEnd<E>>;

/// The socket failed while the command wrote to it: the connection ends.
pub(super) fn ended<E>(end: impl Into<E>) -> CommandEnd<E> {
    CommandEnd::Ended(json!({"applied": "now", "connection": "lost"}), end.into())
}

/// A connection the control API steers: what the commands need of it.
pub(super) trait Commanded {
    /// Why the connection ended (each kind has its own reasons).
    type End;
    /// What `step` answers when no turn is in flight: what is wrong, what to do.
    const NO_TURN: (&'static str, &'static str);
    /// The `dialect` field of the command's log line, for a kind that names it there.
    const LOG_DIALECT: Option<&'static str> = None;

    fn id(&self) -> &str;
    /// The control state and the turn in flight, borrowed together.
    fn parts(&mut self) -> (&mut Ctl, &mut Option<Box<ActiveTurn>>);
    fn frames_sent(&self) -> u64;
    /// The marker `?freeze=` names, if any.
    fn freeze(&self) -> Option<&str>;
    /// Writes the facts the registry shows (dialect, scenario, session) if they changed.
    fn refresh_facts(&mut self) {}
    /// Why the connection cannot take this fault at all (checked before anything else).
    fn refusal(&self, _fault: &Fault) -> Option<ApiError> {
        None
    }
    /// The turn in flight stops for good; the socket stays open.
    fn halt(&mut self);

    /// Sends what is due now.
    async fn on_due(&mut self) -> Result<(), Self::End>;
    /// Plays the next delivery (see each kind's `play_one`).
    async fn play_one(&mut self, now: Instant, force: bool) -> Result<bool, Self::End>;
    /// Flushes what was fed (the journal with it).
    async fn flush(&mut self) -> Result<(), Self::End>;
    /// `POST …/send`.
    async fn send_by_control(&mut self, out: Outgoing) -> Answer<Self::End>;
    /// `POST …/close`.
    async fn close_by_control(&mut self, code: u16, reason: String) -> Answer<Self::End>;
    /// A `close` fault applied now.
    async fn close_fault(&mut self, fault: &Fault, code: u16, reason: String) -> Self::End;
    /// An `abort` fault applied now (what was queued goes out first).
    async fn abort_fault(&mut self, fault: &Fault) -> Self::End;
    /// An `error` fault applied now.
    async fn error_now(&mut self, error: &Error) -> Result<(), CommandEnd<Self::End>>;

    fn ctl(&mut self) -> &mut Ctl {
        self.parts().0
    }

    fn in_flight(&mut self) -> bool {
        self.parts().1.is_some()
    }

    /// The state the API shows, kept in the registry; a change is journaled (which
    /// wakes `POST /__pawmock/wait`).
    fn sync_state(&mut self) {
        let frames = self.frames_sent();
        self.ctl().live.set_frames_sent(frames);
        self.refresh_facts();
        let (ctl, active) = self.parts();
        let state = match (ctl.hold, &*active) {
            (Hold::Frozen, Some(_)) => ConnState::Frozen,
            (Hold::Paused, _) => ConnState::Paused,
            (_, Some(_)) => ConnState::Playing,
            (_, None) => ConnState::Idle,
        };
        if ctl.live.set_state(state) {
            ctl.record(What::State {
                state: state.name().into(),
            });
        }
        if state == ConnState::Idle {
            ctl.release_pending();
        }
    }

    /// Applies the API's hold and pace to a turn that has just started: a freeze held
    /// the turn before it, a pause holds this one too.
    fn control_new_turn(&mut self) {
        let (ctl, active) = self.parts();
        if ctl.hold == Hold::Frozen {
            ctl.hold = Hold::None;
        }
        let now = Instant::now();
        if let Some(turn) = active.as_mut() {
            if ctl.rate != crate::speed::Speed::NORMAL {
                turn.playhead.set_rate(ctl.rate, now);
            }
            if ctl.hold == Hold::Paused {
                turn.playhead.pause(now);
            }
        }
    }

    /// A marker was reached: journaled, and the turn holds there if `?freeze=` names it.
    /// True when it holds.
    fn on_marker(&mut self, name: &str) -> bool {
        self.ctl().record(What::Marker { name: name.into() });
        if self.freeze() != Some(name) {
            return false;
        }
        let (ctl, active) = self.parts();
        let Some(turn) = active.as_mut() else {
            return false;
        };
        turn.hold_at_last(Instant::now());
        ctl.hold = Hold::Frozen;
        tracing::info!(conn = %self.id(), marker = name, "frozen at marker");
        true
    }

    /// The commands the control API left in the mailbox, in order.
    async fn on_commands(&mut self) -> Result<(), Self::End> {
        while let Some(envelope) = self.ctl().live.next_command() {
            self.on_command(envelope).await?;
        }
        Ok(())
    }

    /// One command from the control API: carried out, journaled, logged, answered.
    async fn on_command(&mut self, envelope: Envelope) -> Result<(), Self::End> {
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
        self.ctl().record(What::Command {
            command: name.into(),
            outcome,
        });
        tracing::info!(conn = %self.id(), command = name, dialect = Self::LOG_DIALECT, "control command");
        self.sync_state();
        let state = self.ctl().live.state();
        let _ = reply.send(answer.map(|mut v| {
            v["state"] = json!(state);
            v
        }));
        match end {
            Some(end) => Err(end),
            None => Ok(()),
        }
    }

    async fn run_command(&mut self, command: Command) -> Answer<Self::End> {
        let now = Instant::now();
        match command {
            Command::Pause => {
                let (ctl, active) = self.parts();
                ctl.hold = Hold::Paused;
                if let Some(turn) = active.as_mut() {
                    turn.playhead.pause(now);
                }
                Ok(json!({"applied": "now"}))
            }
            Command::Resume => {
                let (ctl, active) = self.parts();
                ctl.hold = Hold::None;
                if let Some(turn) = active.as_mut() {
                    turn.resume(now);
                }
                // Whatever became due meanwhile goes out now.
                self.on_due().await.map_err(ended)?;
                Ok(json!({"applied": "now"}))
            }
            Command::Step => {
                if self.ctl().hold == Hold::None {
                    return Err(CommandEnd::Refused(ApiError::conflict(
                        "the connection is not paused, so there is nothing to step",
                        "POST …/pause first (or open it with ?freeze=MARKER)",
                    )));
                }
                if !self.in_flight() {
                    let (what, hint) = Self::NO_TURN;
                    return Err(CommandEnd::Refused(ApiError::conflict(what, hint)));
                }
                let sent = self.step_one().await.map_err(ended)?;
                Ok(json!({"applied": "now", "frame": sent}))
            }
            Command::Speed(rate) => {
                let (ctl, active) = self.parts();
                ctl.rate = rate;
                if let Some(turn) = active.as_mut() {
                    turn.playhead.set_rate(rate, now);
                }
                Ok(json!({"applied": "now", "speed": rate}))
            }
            Command::Fault(fault) => self.inject(fault).await,
            Command::Send(out) => self.send_by_control(out).await,
            Command::Close { code, reason } => self.close_by_control(code, reason).await,
        }
    }

    /// Plays deliveries until one frame has gone out (markers and frameless events do
    /// not count); the frame's type, or null when the turn ended first.
    async fn step_one(&mut self) -> Result<Option<String>, Self::End> {
        let before = self.frames_sent();
        while self.in_flight() && self.frames_sent() == before {
            if !self.play_one(Instant::now(), true).await? {
                break;
            }
        }
        self.flush().await?;
        let sent = self.frames_sent() > before;
        Ok(sent.then(|| self.ctl().last_type.to_string()))
    }

    /// A fault from the API: now when its kind acts on the connection as a whole (or,
    /// for `stall` and `corrupt`, on the turn in flight) and it has no trigger of its
    /// own, else on the next turn.
    async fn inject(&mut self, fault: Fault) -> Answer<Self::End> {
        if let Some(refusal) = self.refusal(&fault) {
            return Err(CommandEnd::Refused(refusal));
        }
        // A trigger or an event filter says when the fault acts: that is a turn's business.
        let untriggered = fault.trigger == Default::default() && fault.events.is_none();
        let in_flight = self.in_flight();
        let now_json = json!({"applied": "now", "fault": fault.name()});
        match &fault.effect {
            Effect::Close(Close { code, reason }) if untriggered => {
                record(self.ctl(), &fault, "control");
                let end = self.close_fault(&fault, *code, reason.clone()).await;
                Err(CommandEnd::Ended(now_json, end))
            }
            Effect::Abort(_) if untriggered => {
                record(self.ctl(), &fault, "control");
                let end = self.abort_fault(&fault).await;
                Err(CommandEnd::Ended(now_json, end))
            }
            Effect::Error(error) if untriggered => {
                record(self.ctl(), &fault, "control");
                self.error_now(error).await?;
                Ok(now_json)
            }
            Effect::Corrupt(_) if untriggered && in_flight => {
                // The turn's next frame goes out malformed (cut in half).
                record(self.ctl(), &fault, "control");
                self.ctl().corrupt_next = true;
                Ok(now_json)
            }
            Effect::Stall(Stall(length)) if untriggered && in_flight => {
                record(self.ctl(), &fault, "control");
                match length {
                    Some(d) => {
                        if let Some(turn) = self.parts().1.as_mut() {
                            turn.playhead.stall(Instant::now(), *d);
                        }
                    }
                    None => self.halt(),
                }
                Ok(now_json)
            }
            _ => {
                self.ctl().next_faults.push(fault.clone());
                record(self.ctl(), &fault, "next_turn");
                Ok(json!({"applied": "next_turn", "fault": fault.name()}))
            }
        }
    }
}

/// Journals a fault the API applied (and counts it now, unless it waits for the next
/// turn: that one is counted when it acts, in `deliver`).
fn record(ctl: &Ctl, fault: &Fault, stage: &str) {
    if stage != "next_turn" {
        ctl.metrics().fault_applied(fault.name());
    }
    ctl.record(What::FaultApplied {
        fault: fault.name().into(),
        stage: stage.into(),
        trigger: "control API".into(),
    });
}
