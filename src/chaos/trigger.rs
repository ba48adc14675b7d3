//! When a fault fires: its trigger, validated, and the test each matching event meets.

use std::collections::HashSet;
use std::time::Duration;

use rand::RngExt;

use super::apply::Context;
use super::faults::Check;
use super::format::{From, TriggerSpec};
use crate::rng::Rng;

/// Where a fault's own action goes relative to the event that triggered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Position {
    #[default]
    Before,
    After,
}

/// When a fault fires; every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Trigger {
    pub(crate) probability: Option<f64>,
    /// The Nth matching event of a turn (`at_step` or `after_step`).
    pub(crate) step: Option<u32>,
    pub(crate) position: Position,
    pub(crate) after_marker: Option<String>,
    pub(crate) after: Option<Duration>,
    pub(crate) from: From,
    pub(crate) turn: Option<u32>,
    pub(crate) attempt: Option<u32>,
    pub(crate) every: Option<u32>,
}

impl Trigger {
    /// Triggers that fire once per turn (a step, a marker, a time) rather than at every
    /// matching event.
    pub(crate) fn is_once(&self) -> bool {
        self.step.is_some() || self.after_marker.is_some() || self.after.is_some()
    }
}

/// Validates a trigger (`check` is at the fault; problems go under `trigger`). A fault
/// decided at the handshake (`kind` names it) takes only `probability` and `attempt`.
pub(crate) fn compile(
    check: &mut Check<'_>,
    at_handshake: Option<&str>,
    t: TriggerSpec,
) -> Option<Trigger> {
    let before = check.problems.len();
    let path = check.path.key("trigger");
    let mut bad = |key: &str, msg: String| {
        check
            .problems
            .push(check.src.problem(path.key(key), msg, None))
    };
    if t.probability.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
        bad("probability", "`probability` is between 0 and 1".into());
    }
    for (key, v) in [
        ("at_step", t.at_step),
        ("after_step", t.after_step),
        ("turn", t.turn),
        ("attempt", t.attempt),
        ("every", t.every),
    ] {
        if v == Some(0) {
            bad(key, format!("`{key}` counts from 1"));
        }
    }
    if t.at_step.is_some() && t.after_step.is_some() {
        bad(
            "after_step",
            "give `at_step` or `after_step`, not both".into(),
        );
    }
    if let Some(kind) = at_handshake {
        let per_event = [
            ("at_step", t.at_step.is_some()),
            ("after_step", t.after_step.is_some()),
            ("after_marker", t.after_marker.is_some()),
            ("after", t.after.is_some()),
            ("turn", t.turn.is_some()),
            ("every", t.every.is_some()),
        ];
        for (key, on) in per_event {
            if on {
                bad(
                    key,
                    format!(
                        "a `{kind}` fault happens at the handshake: only `probability` and `attempt` apply"
                    ),
                );
            }
        }
    }
    if check.problems.len() != before {
        return None;
    }
    Some(Trigger {
        probability: t.probability,
        step: t.at_step.or(t.after_step),
        position: if t.after_step.is_some() {
            Position::After
        } else {
            Position::Before
        },
        after_marker: t.after_marker,
        after: t.after.map(|d| d.0),
        from: t.from.unwrap_or_default(),
        turn: t.turn,
        attempt: t.attempt,
        every: t.every,
    })
}

/// Whether a trigger fires at a matching event: the `count`th this turn, at `at` in its
/// segment, with these markers passed. `fired` remembers a once-trigger that fired.
pub(crate) fn fires(
    t: &Trigger,
    count: u64,
    at: Duration,
    markers: &HashSet<String>,
    fired: &mut bool,
    ctx: Context,
    rng: &mut Rng,
) -> bool {
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
            From::Turn => at,
            From::Connect => ctx.since_connect + at,
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
