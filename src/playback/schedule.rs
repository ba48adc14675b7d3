//! `expand`: a turn becomes a schedule of events at absolute offsets from its start.
//!
//! Offsets are absolute, not gaps, so the player can sleep until each one and timer
//! error never accumulates over a long answer. A plan splits a turn: the schedule stops
//! at a [`Gate`], and the chosen branch is expanded when the client answers.

use std::time::Duration;

use super::chunk;
use super::timing::Timing;
use crate::library::scenario::{Body, Plan, Step, StepKind};
use crate::protocol::{Event, Scheduled};
use crate::rng::Rng;

/// A plan that waits for the client, reached at `at`.
#[derive(Debug, Clone)]
pub(crate) struct Gate {
    pub(crate) at: Duration,
    pub(crate) plan: Plan,
}

/// Events up to the end of a turn, or up to a plan that waits for an answer.
#[derive(Debug, Clone)]
pub struct Segment {
    pub events: Vec<Scheduled>,
    pub(crate) gate: Option<Gate>,
}

/// Expands a whole turn: `stream_start` at once, then the body, then `stream_end` (unless
/// a plan stops the segment first).
pub fn expand_turn(body: &Body, timing: &Timing, rng: &mut Rng) -> Segment {
    match body {
        Body::Script(steps) => {
            let mut b = Builder::new(timing);
            b.push(Event::StreamStart);
            b.cursor = timing.first_token;
            b.steps(steps, rng);
            b.finish()
        }
        Body::Recorded(frames) => {
            let mut b = Builder::new(timing);
            for (delay, event) in frames {
                // The cap is on the silence the client sees: divide by the speed first,
                // then cap (at speed 0.5 a 3 s gap would otherwise last 4 s past a 2 s cap).
                let cap = if !timing.speed.is_instant() {
                    timing.speed.script_time(timing.max_gap)
                } else {
                    timing.max_gap
                };
                b.cursor += (*delay).min(cap);
                b.push(event.clone());
            }
            // Every turn ends with stream_end, even when the recording was cut short.
            if !frames.iter().any(|(_, e)| *e == Event::StreamEnd) {
                b.push(Event::StreamEnd);
            }
            Segment {
                events: b.events,
                gate: None,
            }
        }
    }
}

/// Expands the branch a plan answer chose, from the moment of the answer.
pub(crate) fn expand_branch(steps: &[Step], timing: &Timing, rng: &mut Rng) -> Segment {
    let mut b = Builder::new(timing);
    b.steps(steps, rng);
    b.finish()
}

/// Expands steps played outside a turn (the control API's `send`, a scenario's
/// `on_connect`): their events only, without `stream_start` or `stream_end`.
pub(crate) fn expand_steps(steps: &[Step], timing: &Timing, rng: &mut Rng) -> Vec<Scheduled> {
    let mut b = Builder::new(timing);
    b.steps(steps, rng);
    b.events
}

struct Builder<'a> {
    timing: &'a Timing,
    /// Script time; scaled by the speed when an event is placed.
    cursor: Duration,
    events: Vec<Scheduled>,
    gate: Option<Gate>,
}

impl<'a> Builder<'a> {
    fn new(timing: &'a Timing) -> Self {
        Builder {
            timing,
            cursor: Duration::ZERO,
            events: Vec::new(),
            gate: None,
        }
    }

    fn push(&mut self, event: Event) {
        self.events.push(Scheduled {
            at: self.timing.scale(self.cursor),
            event,
        });
    }

    fn steps(&mut self, steps: &[Step], rng: &mut Rng) {
        for step in steps {
            if self.gate.is_some() {
                // Steps after a plan belong to no branch; they are never reached.
                return;
            }
            self.cursor += step.delay;
            self.step(&step.kind, rng);
        }
    }

    fn step(&mut self, kind: &StepKind, rng: &mut Rng) {
        let t = self.timing;
        match kind {
            StepKind::Say(say) => {
                let pieces = say.pieces(t.chunk, t.chunk_size, |text| {
                    chunk::split(text, t.chunk, t.chunk_size)
                });
                self.events.reserve(pieces.len() + 1);
                for piece in pieces.iter() {
                    self.push(Event::TextChunk {
                        text: piece.clone(),
                    });
                    self.cursor += t.chunk_gap(rng);
                }
            }
            StepKind::Think { text, duration } => {
                self.push(Event::Thinking { text: text.clone() });
                self.cursor += duration.unwrap_or(t.think);
            }
            StepKind::Tool {
                name,
                input,
                outcome,
                duration,
            } => {
                self.push(Event::ToolStart {
                    tool: name.clone(),
                    input: input.clone(),
                });
                self.cursor += duration.unwrap_or(t.tool_duration);
                let (result, is_error) = match outcome {
                    Ok(v) => (v.clone(), false),
                    Err(e) => (serde_json::Value::String(e.clone()), true),
                };
                self.push(Event::ToolResult {
                    tool: name.clone(),
                    result,
                    is_error,
                });
            }
            StepKind::Error { message, dashboard } => self.push(Event::AgentError {
                message: message.clone(),
                exception: *dashboard == crate::library::format::DashboardError::Exception,
            }),
            StepKind::Plan(plan) => {
                self.push(Event::PlanCreated {
                    plan: plan.text.clone(),
                });
                self.gate = Some(Gate {
                    at: t.scale(self.cursor),
                    plan: plan.clone(),
                });
            }
            StepKind::Inbox {
                channel,
                message,
                session_id,
            } => self.push(Event::InboxUpdate {
                channel: channel.clone(),
                message: message.clone(),
                session_id: session_id.clone(),
            }),
            StepKind::Pause(d) => self.cursor += *d,
            StepKind::Marker(name) => self.push(Event::Marker { name: name.clone() }),
            StepKind::Frame(v) => self.push(Event::Raw(v.clone())),
        }
    }

    fn finish(mut self) -> Segment {
        if self.gate.is_none() {
            self.push(Event::StreamEnd);
        }
        Segment {
            events: self.events,
            gate: self.gate,
        }
    }
}
