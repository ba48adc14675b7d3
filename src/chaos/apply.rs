//! `apply`: a segment's schedule becomes a list of deliveries with faults applied.
//!
//! Pure, like `expand`: the same schedule, faults, state and RNG give the same
//! deliveries. Delays a fault adds are not scaled by the speed (they stand for the
//! network, not the script), so `?speed=0&chaos=slow-tools` is instant but for the tools.

use std::collections::HashSet;
use std::time::Duration;

use super::fault::{EventKind, Fault, Stage};
use super::faults::FaultKind;
use super::trigger::{Position, fires};
use crate::protocol::Event;
use crate::protocol::Scheduled;
use crate::rng::Rng;

/// What the connection does at one moment of a turn.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    Send(Event),
    /// Send the event's frame cut in half: a text frame that is not valid JSON.
    Corrupt(Event),
    /// Send the event's frame as a fragmented message of this many frames.
    Fragmented(Event, u32),
    Close {
        code: u16,
        reason: String,
    },
    Abort,
    /// Stop the turn for good, without `stream_end`; the socket stays open.
    Halt,
    /// Nothing is sent (a dropped event); only the log sees it.
    Nothing,
}

/// One delivery at its offset from the segment start, and the fault behind it, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    pub at: Duration,
    pub delivery: Delivery,
    pub fault: Option<Injected>,
}

/// A fault that acted, for the log: its kind and the turn's event number it acted at.
#[derive(Debug, Clone, PartialEq)]
pub struct Injected {
    pub kind: FaultKind,
    pub event_index: u64,
}

/// Per-turn counters, kept across the segments of one turn (a plan splits a turn).
#[derive(Debug, Default)]
pub struct TurnState {
    /// Events seen this turn (markers not counted), 1-based after the first.
    events: u64,
    /// Matching events seen per fault.
    matched: Vec<u64>,
    /// Once-triggers that already fired, per fault.
    fired: Vec<bool>,
    markers: HashSet<String>,
    halted: bool,
}

/// Facts about the turn the triggers look at.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// 1-based turn number on the connection.
    pub turn: u32,
    /// 1-based connection attempt to the same URL.
    pub attempt: u32,
    /// How long after connect this segment starts (for `from: connect`).
    pub since_connect: Duration,
}

/// One event as the faults acting on it see it, and what goes out for it. Each fault
/// kind's `apply` (in `faults/`) changes it; `apply` below then places its ops.
pub(crate) struct Moment<'a> {
    /// When the event goes out (a delay before it moves it).
    pub(crate) at: Duration,
    /// How much later every following event goes out.
    pub(crate) shift: Duration,
    /// Ops before the event, the event itself, and ops after it.
    pub(crate) before: Vec<Op>,
    pub(crate) main: Vec<Op>,
    pub(crate) after: Vec<Op>,
    /// Hold the event back and send it after the next one.
    pub(crate) reorder: bool,
    /// The turn ends here: no later event is looked at.
    pub(crate) halted: bool,
    pub(crate) rng: &'a mut Rng,
    /// The acting fault, noted on the ops it makes, and where its trigger puts them.
    note: Option<Injected>,
    position: Position,
}

impl Moment<'_> {
    /// An op at `at` made by the acting fault.
    pub(crate) fn op(&self, at: Duration, delivery: Delivery) -> Op {
        Op {
            at,
            delivery,
            fault: self.note.clone(),
        }
    }

    /// Where the acting fault's trigger puts its own ops: before the event or after it.
    pub(crate) fn position(&self) -> Position {
        self.position
    }

    /// Puts an op of the acting fault before or after the event, as its trigger says.
    pub(crate) fn place(&mut self, op: Op) {
        match self.position {
            Position::Before => self.before.push(op),
            Position::After => self.after.push(op),
        }
    }

    /// Ends the turn with `delivery`: instead of the event, or right after it.
    pub(crate) fn end_with(&mut self, delivery: Delivery) {
        let op = self.op(self.at, delivery);
        match self.position {
            Position::Before => self.main = vec![op],
            Position::After => self.after.push(op),
        }
        self.halted = true;
    }

    /// Makes the event, and what goes before it, `d` later.
    pub(crate) fn delay_event(&mut self, d: Duration) {
        self.at += d;
        for o in self.before.iter_mut().chain(self.main.iter_mut()) {
            o.at += d;
        }
    }

    /// Replaces each `Send` of the event by `f(event)`, noted as the acting fault's.
    pub(crate) fn map_send(&mut self, f: impl Fn(Event) -> Delivery) {
        for o in &mut self.main {
            if let Delivery::Send(e) = &o.delivery {
                o.delivery = f(e.clone());
                o.fault = self.note.clone();
            }
        }
    }
}

/// Applies `faults` (in order) to a segment's events. Only event-stage faults act here:
/// handshake and connect-timer faults are the connection's (`connection.rs`).
pub fn apply(
    events: Vec<Scheduled>,
    faults: &[Fault],
    state: &mut TurnState,
    ctx: Context,
    rng: &mut Rng,
) -> Vec<Op> {
    state.matched.resize(faults.len(), 0);
    state.fired.resize(faults.len(), false);
    let mut out = Vec::with_capacity(events.len());
    let mut shift = Duration::ZERO;
    // Frames leave in order (one TCP stream): nothing goes out before what went before.
    let mut floor = Duration::ZERO;
    // An event held back by `reorder`, sent after the next one.
    let mut held: Option<Vec<Op>> = None;
    for Scheduled { at, event } in events {
        if state.halted {
            break;
        }
        if let Event::Marker { name } = &event {
            state.markers.insert(name.clone());
            out.push(plain((at + shift).max(floor), event));
            continue;
        }
        state.events += 1;
        let at = at + shift;
        let mut m = Moment {
            at,
            shift,
            before: Vec::new(),
            main: vec![plain(at, event)],
            after: Vec::new(),
            reorder: false,
            halted: false,
            rng: &mut *rng,
            note: None,
            position: Position::Before,
        };
        act(faults, state, ctx, &mut m);
        shift = m.shift;
        let at = m.at;
        let reorder = m.reorder;
        let mut ops = m.before;
        ops.extend(m.main);
        ops.extend(m.after);
        for o in &mut ops {
            o.at = o.at.max(floor);
            floor = o.at;
        }
        if let Some(mut previous) = held.take() {
            // The held event goes out right after this one, at this one's time.
            for o in &mut previous {
                o.at = o.at.max(at);
            }
            ops.extend(previous);
        }
        if reorder && !state.halted {
            held = Some(ops);
        } else {
            out.extend(ops);
        }
    }
    if let Some(previous) = held {
        out.extend(previous);
    }
    out
}

/// Lets each event-stage fault that touches the moment's event and fires act on it, in
/// order, until one ends the turn.
fn act(faults: &[Fault], state: &mut TurnState, ctx: Context, m: &mut Moment<'_>) {
    let kind = m.main.first().and_then(|o| match &o.delivery {
        Delivery::Send(e) => EventKind::of(e),
        _ => None,
    });
    for (i, fault) in faults.iter().enumerate() {
        if fault.stage() != Stage::Event || !fault.touches_kind(kind) {
            continue;
        }
        state.matched[i] += 1;
        let count = state.matched[i];
        if !fires(
            &fault.trigger,
            count,
            m.at,
            &state.markers,
            &mut state.fired[i],
            ctx,
            m.rng,
        ) {
            continue;
        }
        m.note = Some(Injected {
            kind: fault.kind(),
            event_index: state.events,
        });
        m.position = fault.trigger.position;
        fault.effect.apply(m);
        if m.halted {
            state.halted = true;
            return;
        }
    }
}

fn plain(at: Duration, event: Event) -> Op {
    Op {
        at,
        delivery: Delivery::Send(event),
        fault: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::faults::testing::{events, parse, run};
    use crate::rng::derive;

    #[test]
    fn every_fault_kind_that_acts_is_noted_for_the_log() {
        for spec in [
            "error:events=text_chunk:at_step=1",
            "drop:events=text_chunk:at_step=1",
            "duplicate:events=text_chunk:at_step=1",
            "reorder:events=text_chunk:at_step=1",
            "corrupt:events=text_chunk:at_step=1",
            "latency:delay=5ms:events=text_chunk:at_step=1",
            "latency:delay=5ms:events=text_chunk:after_step=1",
            "latency:distribution=normal:mean=5ms:stddev=1ms",
            "latency:distribution=lognormal:median=5ms:sigma=0.5",
            "slice:events=text_chunk:at_step=1",
            "stall:duration=5ms:events=text_chunk:at_step=1",
            "stall:duration=5ms:events=text_chunk:after_step=1",
            "stall:events=text_chunk:at_step=2",
            "fragment:events=text_chunk:at_step=1",
            "close:code=4000:events=text_chunk:at_step=1",
            "abort:events=text_chunk:at_step=1",
        ] {
            let kind = spec.split(':').next().unwrap();
            let ops = run(spec);
            assert!(
                ops.iter()
                    .any(|o| o.fault.as_ref().is_some_and(|f| f.kind == kind)),
                "{spec}: no op notes the fault"
            );
        }
    }

    #[test]
    fn probability_draws_do_not_depend_on_time_conditions() {
        // The same events and seed make the same draws whether or not a time condition
        // (which may depend on wall time) lets the fault act.
        let fault = parse("drop:events=text_chunk:probability=0.5:after=15ms").unwrap();
        let later = Context {
            turn: 1,
            attempt: 1,
            since_connect: Duration::ZERO,
        };
        let mut a = derive(9, "x", 0);
        let mut b = derive(9, "x", 0);
        apply(
            events(),
            std::slice::from_ref(&fault),
            &mut TurnState::default(),
            later,
            &mut a,
        );
        let no_time = parse("drop:events=text_chunk:probability=0.5").unwrap();
        apply(
            events(),
            &[no_time],
            &mut TurnState::default(),
            later,
            &mut b,
        );
        use rand::RngExt;
        assert_eq!(
            a.random_range(0..u64::MAX),
            b.random_range(0..u64::MAX),
            "both consumed the same draws"
        );
    }
}
