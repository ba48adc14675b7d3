//! A raw connection's side of the control plane: the same [`Ctl`](super::Ctl) (registry
//! entry, mailbox, hold, pace, journal) and the same playhead as a PocketPaw connection
//! (`connection/control.rs`), with the commands carried out on recorded frames.
//!
//! What differs is what a protocol pawmock does not know allows: `send` sends a text
//! frame as given (there is no dialect to render steps in), and the `error` fault is
//! refused (pawmock cannot say "error" in that protocol).

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;

use super::super::control::Hold;
use super::{End, RawConnection, Result};
use crate::chaos::Fault;
use crate::chaos::fault::Effect;
use crate::chaos::faults::{close::Close, stall::Stall};
use crate::control::commands::{Command, Envelope, Outgoing};
use crate::control::{ApiError, ConnState, What};
use crate::protocol::raw::RawFrame;

/// How a command ends when it is not a plain answer.
enum CommandEnd {
    /// The command cannot apply (4xx); nothing changed.
    Refused(ApiError),
    /// It applied and the connection ends (close, abort), or the socket failed.
    Ended(Value, End),
}

fn ended(end: End) -> CommandEnd {
    CommandEnd::Ended(json!({"applied": "now", "connection": "lost"}), end)
}

impl RawConnection {
    /// The state the API shows, kept in the registry; a change is journaled (which
    /// wakes `POST /__pawmock/wait`).
    pub(super) fn sync_state(&mut self) {
        let state = match (self.ctl.hold, &self.active) {
            (Hold::Frozen, Some(_)) => ConnState::Frozen,
            (Hold::Paused, _) => ConnState::Paused,
            (_, Some(_)) => ConnState::Playing,
            (_, None) => ConnState::Idle,
        };
        self.ctl.live.set_frames_sent(self.frames_sent);
        if self.ctl.live.set_state(state) {
            self.ctl.record(What::State {
                state: state.name().into(),
            });
        }
    }

    /// Applies the API's hold and pace to a turn (the greeting or an exchange) that has
    /// just started: a freeze held the turn before it, a pause holds this one too.
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

    /// A marker line was reached: journaled, and the turn holds there if `?freeze=`
    /// names it. True when it holds.
    pub(super) fn on_marker(&mut self, name: &str) -> bool {
        self.ctl.record(What::Marker { name: name.into() });
        if self.freeze.as_deref() != Some(name) {
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
    pub(super) async fn on_commands<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
    ) -> Result {
        while let Some(envelope) = self.ctl.live.next_command() {
            self.on_command(ws, envelope).await?;
        }
        Ok(())
    }

    async fn on_command<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        envelope: Envelope,
    ) -> Result {
        let Envelope { command, reply } = envelope;
        let name = command.name();
        let (answer, end) = match self.run_command(ws, command).await {
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
        tracing::info!(conn = %self.id, command = name, dialect = "raw", "control command");
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

    async fn run_command<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        command: Command,
    ) -> std::result::Result<Value, CommandEnd> {
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
                self.on_due(ws).await.map_err(ended)?;
                Ok(json!({"applied": "now"}))
            }
            Command::Step => {
                if self.ctl.hold == Hold::None {
                    return Err(CommandEnd::Refused(ApiError::conflict(
                        "the connection is not paused, so there is nothing to step",
                        "POST …/pause first (or open it with ?freeze=MARKER)",
                    )));
                }
                if self.active.is_none() {
                    return Err(CommandEnd::Refused(ApiError::conflict(
                        "no exchange is in flight",
                        "send a recorded client frame first; a paused connection holds the exchange it starts",
                    )));
                }
                let sent = self.step_one(ws).await.map_err(ended)?;
                Ok(json!({"applied": "now", "frame": sent}))
            }
            Command::Speed(rate) => {
                self.ctl.rate = rate;
                if let Some(turn) = self.active.as_mut() {
                    turn.playhead.set_rate(rate, now);
                }
                Ok(json!({"applied": "now", "speed": rate}))
            }
            Command::Fault(fault) => self.inject(ws, fault).await,
            Command::Send(Outgoing::Raw(text)) => {
                let frame = RawFrame::Text(text.into());
                let message = frame.message().expect("a text frame");
                self.feed(ws, &frame, vec![message]).await.map_err(ended)?;
                self.flush(ws).await.map_err(ended)?;
                Ok(json!({"applied": "now", "frames": 1}))
            }
            Command::Send(Outgoing::Steps(_)) => Err(CommandEnd::Refused(ApiError::bad_request(
                "this connection replays a raw recording: pawmock does not know its protocol, so it cannot render steps in it",
                r#"send the frame as your protocol writes it: {"raw": "…"}"#,
            ))),
            Command::Close { code, reason } => match self.close(ws, code, reason).await {
                Err(End::Closed(code)) => Err(CommandEnd::Ended(
                    json!({"applied": "now"}),
                    End::ByControl(code),
                )),
                Err(end) => Err(ended(end)),
                Ok(()) => Ok(json!({"applied": "now"})),
            },
        }
    }

    /// Plays deliveries until one frame has gone out (markers do not count); the
    /// frame's type (`text` or `binary`), or null when the exchange ended first.
    async fn step_one<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
    ) -> Result<Option<String>> {
        let before = self.frames_sent;
        while self.active.is_some() && self.frames_sent == before {
            if !self.play_one(ws, tokio::time::Instant::now(), true).await? {
                break;
            }
        }
        self.flush(ws).await?;
        Ok((self.frames_sent > before).then(|| self.ctl.last_type.to_string()))
    }

    /// A fault from the API: `close` and `abort` now, `stall` and `corrupt` (the next
    /// frame) now on an exchange in flight, when they have no trigger of their own; the
    /// others on the next exchange. `error` needs a frame of the protocol: refused.
    async fn inject<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        fault: Fault,
    ) -> std::result::Result<Value, CommandEnd> {
        if let Effect::Error(_) = fault.effect {
            return Err(CommandEnd::Refused(ApiError::bad_request(
                "an `error` fault needs an error frame of the protocol, and pawmock does not know this one",
                r#"send your protocol's error frame with POST …/send {"raw": "…"}, or use close, abort, stall or corrupt"#,
            )));
        }
        let untriggered = fault.trigger == Default::default() && fault.events.is_none();
        let app = self.app.clone();
        let record = |ctl: &super::Ctl, stage: &str| {
            // A fault for the next exchange is counted when it acts, in `deliver`.
            if stage != "next_turn" {
                app.metrics.fault_applied(fault.name());
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
                self.chaos.acted(fault.kind());
                match self.close(ws, *code, reason.clone()).await {
                    Err(end) => Err(CommandEnd::Ended(now_json, end)),
                    Ok(()) => Ok(now_json),
                }
            }
            Effect::Abort(_) if untriggered => {
                record(&self.ctl, "control");
                self.chaos.acted(fault.kind());
                let _ = self.flush(ws).await;
                Err(CommandEnd::Ended(now_json, End::Aborted))
            }
            Effect::Corrupt(_) if untriggered && self.active.is_some() => {
                // The exchange's next frame goes out cut in half.
                record(&self.ctl, "control");
                self.ctl.corrupt_next = true;
                Ok(now_json)
            }
            Effect::Stall(Stall(length)) if untriggered && self.active.is_some() => {
                record(&self.ctl, "control");
                match length {
                    Some(d) => {
                        if let Some(turn) = self.active.as_mut() {
                            turn.playhead.stall(tokio::time::Instant::now(), *d);
                        }
                    }
                    None => {
                        // For good: the exchange stops, the socket stays open.
                        let turn = self.active.take().expect("checked above");
                        self.ctl.why = "fault";
                        self.finish(turn, true);
                        self.start_queued();
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
}
