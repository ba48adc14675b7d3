//! Which conversation answers a user message.
//!
//! A pinned connection (`?scenario=NAME`) plays that scenario's first matching turn.
//! Otherwise: a message that is exactly a scenario's name plays that scenario; then the
//! text-matching rules (`contains`, `equals`, `regex`) of every scenario are tried in
//! file-name order; then a built-in reply explains how to pick a scenario.

use std::sync::Arc;

use crate::library::scenario::{Body, SayText, ScenarioKind, Step, StepKind, Turn};
use crate::library::{Library, Scenario};

/// The outcome of choosing.
pub(crate) enum Choice {
    /// Play `turn` of `scenario`.
    Turn {
        scenario: Arc<Scenario>,
        turn: usize,
    },
    /// Nothing matched: play this built-in reply.
    Fallback(Body),
    /// The pinned scenario does not exist (never did, or was deleted): say so.
    Missing(String),
}

/// Chooses for `text`. `turn_no` gives, for a scenario name, how many messages this
/// connection has already sent to it (so `{"turn": N}` rules and recordings advance).
pub(crate) fn choose(
    library: &Library,
    pinned: Option<&str>,
    text: &str,
    turn_no: impl Fn(&str) -> u32,
) -> Choice {
    if let Some(name) = pinned {
        let Some(s) = library.get(name) else {
            return Choice::Missing(format!(
                "scenario `{name}` does not exist (any more); known scenarios: {}",
                library.names().join(", ")
            ));
        };
        return match pick_turn(s, text, turn_no(name) + 1, false) {
            Some(turn) => Choice::Turn {
                scenario: s.clone(),
                turn,
            },
            None => Choice::Fallback(say(&format!(
                "Scenario `{name}` has no turn that matches this message. Add a turn with `\"when\": \"any\"` to {} to answer everything.",
                s.file.display()
            ))),
        };
    }
    let wanted = text.trim().to_lowercase();
    if let Some(s) = library.get(&wanted)
        && let Some(turn) = pick_turn(s, text, turn_no(&s.name) + 1, false)
    {
        return Choice::Turn {
            scenario: s.clone(),
            turn,
        };
    }
    for s in library.scenarios() {
        if let Some(turn) = pick_turn(s, text, turn_no(&s.name) + 1, true) {
            return Choice::Turn {
                scenario: s.clone(),
                turn,
            };
        }
    }
    Choice::Fallback(say(&fallback_text(library)))
}

/// The turn of `s` that answers, or none. `textual_only` restricts scripted scenarios to
/// text-matching rules and recordings to their header's `when`.
fn pick_turn(s: &Scenario, text: &str, turn_no: u32, textual_only: bool) -> Option<usize> {
    match s.kind {
        ScenarioKind::Recorded => {
            // As for scripted turns, only text rules pick it: `"any"` or `{"turn": N}`
            // in a header would otherwise take every message that pins nothing.
            if textual_only && !s.selector.as_ref().is_some_and(|w| w.matches_text(text)) {
                return None;
            }
            // A recording replays its exchanges in order, starting over after the last.
            let n = s.turns.len().max(1);
            Some((turn_no as usize - 1) % n)
        }
        // Only a pinned connection plays a raw recording (frame for frame, not by chat).
        ScenarioKind::Raw => None,
        ScenarioKind::Scripted => s.turns.iter().position(|t: &Turn| {
            if textual_only {
                t.when.matches_text(text)
            } else {
                t.when.matches(text, turn_no)
            }
        }),
    }
}

fn say(text: &str) -> Body {
    Body::Script(vec![Step {
        delay: Default::default(),
        kind: StepKind::Say(SayText::new(text.to_owned())),
    }])
}

fn fallback_text(library: &Library) -> String {
    let names = library.names();
    if names.is_empty() {
        return "pawmock has no scenarios loaded. Put `.json` scenarios or `.jsonl` recordings in the recordings directory (see the README).".to_owned();
    }
    format!(
        "pawmock has no scenario matching that message. Send one of the scenario names ({}), or connect with `?scenario=NAME` to pin one.",
        names.join(", ")
    )
}
