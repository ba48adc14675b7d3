//! Faults as the server applies them: validated, with defaults decided, each with a
//! typed kind, stage and event filter. What each kind does is in `faults/`.

use super::faults::{Check, FaultKind};
use super::format::{FaultSpec, From};
use crate::located::problem::{JsonPath, Problem};
use crate::located::source::Source;
use crate::protocol::Event;

pub(crate) use super::faults::Effect;
pub(crate) use super::trigger::Trigger;

/// Event kinds a fault can be limited to: the `Event::kind` names of the events a turn
/// plays (greetings and session replies never pass through chaos).
pub(crate) const EVENT_KINDS: &[&str] = &[
    "stream_start",
    "text_chunk",
    "thinking",
    "tool_start",
    "tool_result",
    "error",
    "plan",
    "inbox",
    "frame",
    "stream_end",
];

/// An event kind a fault's `events` can name (in [`EVENT_KINDS`] order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventKind {
    StreamStart,
    TextChunk,
    Thinking,
    ToolStart,
    ToolResult,
    Error,
    Plan,
    Inbox,
    Frame,
    StreamEnd,
}

impl EventKind {
    const ALL: [EventKind; 10] = [
        EventKind::StreamStart,
        EventKind::TextChunk,
        EventKind::Thinking,
        EventKind::ToolStart,
        EventKind::ToolResult,
        EventKind::Error,
        EventKind::Plan,
        EventKind::Inbox,
        EventKind::Frame,
        EventKind::StreamEnd,
    ];

    /// The kind named `name` in a file or URL.
    pub(crate) fn parse(name: &str) -> Option<EventKind> {
        EVENT_KINDS
            .iter()
            .position(|k| *k == name)
            .map(|i| EventKind::ALL[i])
    }

    #[cfg(test)]
    pub(crate) fn name(self) -> &'static str {
        EVENT_KINDS[self as usize]
    }

    /// The kind of a played event; `None` for events no fault can name.
    pub(crate) fn of(event: &Event) -> Option<EventKind> {
        EventKind::parse(event.kind())
    }
}

/// Where a fault acts: decided once per connection at the handshake or on a timer from
/// connect, or at the events of each turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Refuses the WebSocket handshake (`reject`, `refuse_first`).
    Handshake,
    /// Fires on a timer from connect, even when no turn plays (`close`/`abort` with
    /// `"from": "connect"` and no `events`).
    ConnectTimer,
    /// Acts at the matching events of a turn.
    Event,
}

/// One fault, ready to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// Event kinds it may touch; `None` is all.
    pub(crate) events: Option<Vec<EventKind>>,
    pub(crate) trigger: Trigger,
    pub(crate) effect: Effect,
}

impl Fault {
    pub fn kind(&self) -> FaultKind {
        self.effect.kind()
    }

    /// Whether this fault may touch an event of `kind` (`None`: one no filter names).
    pub(crate) fn touches_kind(&self, kind: Option<EventKind>) -> bool {
        self.events
            .as_ref()
            .is_none_or(|e| kind.is_some_and(|k| e.contains(&k)))
    }

    /// The name used in logs and counts: `drop`, `latency`, …
    pub(crate) fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// Where it acts: at the handshake, on a timer from connect, or at events.
    pub(crate) fn stage(&self) -> Stage {
        self.effect.stage(&self.trigger, self.events.as_deref())
    }
}

/// The stage of a `close` or `abort`: on a timer when counted from connect with no
/// event filter, else at events.
pub(crate) fn connection_ending_stage(trigger: &Trigger, events: Option<&[EventKind]>) -> Stage {
    if trigger.from == From::Connect && events.is_none() {
        Stage::ConnectTimer
    } else {
        Stage::Event
    }
}

/// Validates one fault spec; problems are reported at `path` inside `src`. The checks
/// every kind shares are here; the kind's own parameters are checked in its file.
pub(crate) fn compile(
    src: &Source,
    path: &JsonPath,
    spec: FaultSpec,
    problems: &mut Vec<Problem>,
) -> Option<Fault> {
    let before = problems.len();
    let mut check = Check {
        src,
        path,
        problems,
    };
    let Some(kind) = spec.kind else {
        let names: Vec<&str> = FaultKind::ALL.iter().map(|k| k.name()).collect();
        check.bad(
            "",
            "a fault needs a `kind`".into(),
            Some(format!("one of {}", names.join(", "))),
        );
        return None;
    };
    let name = kind.name();
    // Parameters each kind takes; anything else given is a mistake worth reporting.
    let allowed = kind.params();
    for (key, on) in spec.given() {
        if on && !allowed.contains(&key) {
            check.bad(
                key,
                format!("`{key}` is not a parameter of a `{name}` fault"),
                Some(if allowed.is_empty() {
                    format!("a `{name}` fault takes only `events` and `trigger`")
                } else {
                    format!("a `{name}` fault takes {}", allowed.join(", "))
                }),
            );
        }
    }
    let mut events = Vec::new();
    if let Some(names) = &spec.events {
        for (i, e) in names.iter().enumerate() {
            match EventKind::parse(e) {
                Some(k) => events.push(k),
                None => check.problems.push(src.problem(
                    path.key("events").index(i),
                    format!("unknown event kind `{e}`"),
                    Some(format!("use one of {}", EVENT_KINDS.join(", "))),
                )),
            }
        }
    }
    let trigger = super::trigger::compile(
        &mut check,
        kind.at_handshake().then_some(name),
        spec.trigger.clone().unwrap_or_default(),
    );
    let effect = kind.compile(&spec, &mut check)?;
    (problems.len() == before).then(|| Fault {
        events: spec.events.is_some().then_some(events),
        trigger: trigger.unwrap_or_default(),
        effect,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_kinds_name_themselves_as_events_do() {
        for (i, name) in EVENT_KINDS.iter().enumerate() {
            assert_eq!(EventKind::ALL[i].name(), *name);
            assert_eq!(EventKind::parse(name), Some(EventKind::ALL[i]));
        }
        assert_eq!(EventKind::of(&Event::StreamEnd), Some(EventKind::StreamEnd));
        assert_eq!(EventKind::of(&Event::Marker { name: "m".into() }), None);
    }
}
