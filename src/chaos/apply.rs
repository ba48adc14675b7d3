//! `apply`: a segment's schedule becomes a list of deliveries with faults applied.
//!
//! Pure, like `expand`: the same schedule, faults, state and RNG give the same
//! deliveries. Delays a fault adds are not scaled by the speed (they stand for the
//! network, not the script), so `?speed=0&chaos=slow-tools` is instant but for the tools.

use std::collections::HashSet;
use std::time::Duration;

use rand::RngExt;

use super::fault::{Effect, Fault, Position};
use crate::protocol::Event;
use crate::protocol::Scheduled;
use crate::protocol::raw::RawFrame;
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
    pub kind: &'static str,
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

/// Applies `faults` (in order) to a segment's events.
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
        let index = state.events;
        let kind = event.kind();
        let mut at = at + shift;
        let mut before: Vec<Op> = Vec::new();
        let mut after: Vec<Op> = Vec::new();
        let mut main = vec![plain(at, event.clone())];
        let mut reorder = false;
        for (i, fault) in faults.iter().enumerate() {
            if fault.is_handshake() || fault.is_connect_timer() || !fault.touches(kind) {
                continue;
            }
            state.matched[i] += 1;
            if !fires(
                fault,
                state.matched[i],
                at,
                &state.markers,
                &mut state.fired[i],
                ctx,
                rng,
            ) {
                continue;
            }
            let note = Some(Injected {
                kind: fault.name(),
                event_index: index,
            });
            let op = |at: Duration, delivery: Delivery| Op {
                at,
                delivery,
                fault: note.clone(),
            };
            let placed =
                |ops: &mut Vec<Op>, after_ops: &mut Vec<Op>, o: Op| match fault.trigger.position {
                    Position::Before => ops.push(o),
                    Position::After => after_ops.push(o),
                };
            match &fault.effect {
                Effect::Error {
                    message,
                    end_turn,
                    stream_end,
                } => {
                    let error = op(
                        at,
                        Delivery::Send(Event::Error {
                            message: message.clone(),
                        }),
                    );
                    if *end_turn {
                        let mut tail = vec![error];
                        if *stream_end {
                            tail.push(op(at, Delivery::Send(Event::StreamEnd)));
                        }
                        tail.push(op(at, Delivery::Halt));
                        match fault.trigger.position {
                            Position::Before => {
                                main = tail;
                            }
                            Position::After => after.extend(tail),
                        }
                        state.halted = true;
                    } else {
                        placed(&mut before, &mut after, error);
                    }
                }
                Effect::Drop => main = vec![op(at, Delivery::Nothing)],
                Effect::Duplicate => {
                    let copy = main.iter().find_map(|o| match &o.delivery {
                        Delivery::Send(e) => Some(e.clone()),
                        _ => None,
                    });
                    if let Some(e) = copy {
                        main.push(op(at, Delivery::Send(e)));
                    }
                }
                Effect::Reorder => {
                    reorder = true;
                    before.push(op(at, Delivery::Nothing));
                }
                Effect::Corrupt => map_send(&mut main, Delivery::Corrupt, &note),
                Effect::Fragment { pieces } => {
                    map_send(&mut main, |e| Delivery::Fragmented(e, *pieces), &note)
                }
                Effect::Latency(delay) => {
                    // This event is late; later ones keep their schedule but cannot
                    // overtake it (in-order delivery), so latency does not accumulate.
                    let d = delay.sample(rng);
                    match fault.trigger.position {
                        Position::Before => {
                            at += d;
                            for o in before.iter_mut().chain(main.iter_mut()) {
                                o.at += d;
                            }
                            before.push(op(at, Delivery::Nothing));
                        }
                        Position::After => {
                            shift += d;
                            after.push(op(at, Delivery::Nothing));
                        }
                    }
                }
                Effect::Slice { pieces, interval } => {
                    // Answer text, or a raw recording's text frame (as pieces of text).
                    let parts: Option<Vec<Event>> = match main.as_slice() {
                        [
                            Op {
                                delivery: Delivery::Send(Event::TextChunk { text }),
                                ..
                            },
                        ] => Some(
                            slice(text, *pieces)
                                .into_iter()
                                .map(|p| Event::TextChunk { text: p.into() })
                                .collect(),
                        ),
                        [
                            Op {
                                delivery: Delivery::Send(Event::Frame(RawFrame::Text(text))),
                                ..
                            },
                        ] => Some(
                            RawFrame::sliced(text, *pieces)
                                .into_iter()
                                .map(Event::Frame)
                                .collect(),
                        ),
                        _ => None,
                    };
                    if let Some(parts) = parts {
                        let n = parts.len() as u32;
                        main = parts
                            .into_iter()
                            .enumerate()
                            .map(|(k, e)| op(at + *interval * k as u32, Delivery::Send(e)))
                            .collect();
                        shift += *interval * n.saturating_sub(1);
                    }
                }
                Effect::Stall(Some(d)) => match fault.trigger.position {
                    Position::Before => {
                        at += *d;
                        shift += *d;
                        for o in before.iter_mut().chain(main.iter_mut()) {
                            o.at += *d;
                        }
                        before.push(op(at, Delivery::Nothing));
                    }
                    Position::After => {
                        shift += *d;
                        after.push(op(at, Delivery::Nothing));
                    }
                },
                Effect::Stall(None) | Effect::Close { .. } | Effect::Abort => {
                    let delivery = match &fault.effect {
                        Effect::Close { code, reason } => Delivery::Close {
                            code: *code,
                            reason: reason.clone(),
                        },
                        Effect::Abort => Delivery::Abort,
                        _ => Delivery::Halt,
                    };
                    match fault.trigger.position {
                        Position::Before => main = vec![op(at, delivery)],
                        Position::After => after.push(op(at, delivery)),
                    }
                    state.halted = true;
                }
                Effect::Reject { .. } | Effect::RefuseFirst { .. } => {}
            }
            if state.halted {
                break;
            }
        }
        let mut ops = before;
        ops.extend(main);
        ops.extend(after);
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

fn plain(at: Duration, event: Event) -> Op {
    Op {
        at,
        delivery: Delivery::Send(event),
        fault: None,
    }
}

fn map_send(ops: &mut [Op], f: impl Fn(Event) -> Delivery, note: &Option<Injected>) {
    for o in ops.iter_mut() {
        if let Delivery::Send(e) = &o.delivery {
            o.delivery = f(e.clone());
            o.fault = note.clone();
        }
    }
}

/// Splits text into at most `pieces` parts of about equal length (in characters).
fn slice(text: &str, pieces: u32) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() < 2 {
        return vec![text.to_owned()];
    }
    let size = chars.len().div_ceil(pieces as usize).max(1);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

fn fires(
    fault: &Fault,
    count: u64,
    at: Duration,
    markers: &HashSet<String>,
    fired: &mut bool,
    ctx: Context,
    rng: &mut Rng,
) -> bool {
    let t = &fault.trigger;
    if t.turn.is_some_and(|n| n != ctx.turn)
        || t.attempt.is_some_and(|n| n != ctx.attempt)
        || t.step.is_some_and(|n| u64::from(n) != count)
        || t.every.is_some_and(|n| !count.is_multiple_of(u64::from(n)))
        || t.after_marker
            .as_ref()
            .is_some_and(|m| !markers.contains(m))
    {
        return false;
    }
    // Draw before looking at time: the conditions above depend only on the events, so
    // which draws happen (and so every later draw) depends only on the events and the
    // seed. `after` with `from: connect` depends on wall time and must come after.
    if let Some(p) = t.probability
        && !rng.random_bool(p)
    {
        return false;
    }
    if let Some(after) = t.after {
        let now = match t.from {
            super::format::From::Turn => at,
            super::format::From::Connect => ctx.since_connect + at,
        };
        if now < after {
            return false;
        }
    }
    if t.is_once() && *fired {
        return false;
    }
    if t.is_once() {
        *fired = true;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::inline::parse;
    use crate::rng::derive;

    fn events() -> Vec<Scheduled> {
        let at = |ms: u64| Duration::from_millis(ms);
        let chunk = |t: &str| Event::TextChunk { text: t.into() };
        vec![
            Scheduled {
                at: at(0),
                event: Event::StreamStart,
            },
            Scheduled {
                at: at(10),
                event: chunk("one "),
            },
            Scheduled {
                at: at(20),
                event: chunk("two "),
            },
            Scheduled {
                at: at(30),
                event: Event::Marker { name: "m".into() },
            },
            Scheduled {
                at: at(30),
                event: chunk("three"),
            },
            Scheduled {
                at: at(40),
                event: Event::StreamEnd,
            },
        ]
    }

    fn run(spec: &str) -> Vec<Op> {
        let ctx = Context {
            turn: 1,
            attempt: 1,
            since_connect: Duration::ZERO,
        };
        apply(
            events(),
            &[parse(spec).unwrap()],
            &mut TurnState::default(),
            ctx,
            &mut derive(1, spec, 0),
        )
    }

    fn sent(ops: &[Op]) -> Vec<String> {
        ops.iter()
            .filter_map(|o| match &o.delivery {
                Delivery::Send(Event::TextChunk { text }) => Some(text.to_string()),
                Delivery::Send(Event::Marker { .. }) => None,
                Delivery::Send(e) => Some(e.kind().to_owned()),
                Delivery::Corrupt(_) => Some("corrupt".into()),
                Delivery::Fragmented(..) => Some("fragmented".into()),
                Delivery::Close { code, .. } => Some(format!("close {code}")),
                Delivery::Abort => Some("abort".into()),
                Delivery::Halt => Some("halt".into()),
                Delivery::Nothing => None,
            })
            .collect()
    }

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
    fn each_kind_changes_the_deliveries_as_documented() {
        assert_eq!(
            sent(&run("drop:events=text_chunk:at_step=2")),
            ["stream_start", "one ", "three", "stream_end"]
        );
        assert_eq!(
            sent(&run("duplicate:events=text_chunk:at_step=2")),
            [
                "stream_start",
                "one ",
                "two ",
                "two ",
                "three",
                "stream_end"
            ]
        );
        assert_eq!(
            sent(&run("reorder:events=text_chunk:at_step=1")),
            ["stream_start", "two ", "one ", "three", "stream_end"]
        );
        assert_eq!(
            sent(&run("corrupt:events=text_chunk:at_step=3")),
            ["stream_start", "one ", "two ", "corrupt", "stream_end"]
        );
        assert_eq!(
            sent(&run("slice:pieces=2:events=text_chunk:at_step=3")),
            ["stream_start", "one ", "two ", "thr", "ee", "stream_end"]
        );
        assert_eq!(
            sent(&run("stall:events=text_chunk:after_step=2")),
            ["stream_start", "one ", "two ", "halt"]
        );
        assert_eq!(
            sent(&run("abort:events=text_chunk:at_step=2")),
            ["stream_start", "one ", "abort"]
        );
        assert_eq!(
            sent(&run("close:code=4000:events=text_chunk:after_step=3")),
            ["stream_start", "one ", "two ", "three", "close 4000"]
        );
        assert_eq!(
            sent(&run(
                "error:message=x:end_turn=true:events=text_chunk:at_step=2"
            )),
            ["stream_start", "one ", "error", "stream_end", "halt"]
        );
        assert_eq!(
            sent(&run("error:message=x:after_marker=m")),
            [
                "stream_start",
                "one ",
                "two ",
                "error",
                "three",
                "stream_end"
            ]
        );
    }

    #[test]
    fn latency_delays_one_event_and_later_ones_never_overtake_it() {
        let ops = run("latency:delay=25ms:events=text_chunk:at_step=1");
        let times: Vec<u128> = ops
            .iter()
            .filter(|o| o.fault.is_none())
            .map(|o| o.at.as_millis())
            .collect();
        // stream_start 0; "one " 10+25=35; "two " 20 → held to 35; marker; "three" 35 (30 < 35); end 40.
        assert_eq!(times, [0, 35, 35, 35, 35, 40]);
        let stalled = run("stall:duration=25ms:events=text_chunk:at_step=1");
        let times: Vec<u128> = stalled
            .iter()
            .filter(|o| o.fault.is_none())
            .map(|o| o.at.as_millis())
            .collect();
        // A stall shifts everything after it.
        assert_eq!(times, [0, 35, 45, 55, 55, 65]);
    }

    #[test]
    fn latency_distributions_stay_in_their_bounds() {
        use crate::chaos::fault::Delay;
        let ms = Duration::from_millis;
        let mut rng = derive(3, "latency", 0);
        let uniform = Delay::Uniform(ms(100), ms(200));
        assert!(
            (0..2000)
                .map(|_| uniform.sample(&mut rng))
                .all(|d| d >= ms(100) && d < ms(200))
        );
        let normal = Delay::Normal {
            mean: ms(100),
            stddev: ms(10),
        };
        let mean = (0..5000)
            .map(|_| normal.sample(&mut rng).as_secs_f64())
            .sum::<f64>()
            / 5000.0;
        assert!((mean - 0.1).abs() < 0.002, "mean {mean}");
        let lognormal = Delay::LogNormal {
            median: ms(100),
            sigma: 0.5,
        };
        let mut draws: Vec<Duration> = (0..5001).map(|_| lognormal.sample(&mut rng)).collect();
        draws.sort();
        let median = draws[2500].as_secs_f64();
        assert!((median - 0.1).abs() < 0.01, "median {median}");
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
