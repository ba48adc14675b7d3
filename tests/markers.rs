//! The `mid-answer` and `after-tool` markers of the bundled scenarios (what Storybook
//! freezes on) move nothing: without them, every scenario plays the same events at the
//! same offsets, whatever the chunk unit.

mod common;

use pawmock::ChunkUnit;
use pawmock::Event;
use pawmock::Library;
use pawmock::{Body, SayText, Step, StepKind};
use pawmock::{Timing, expand_turn};

/// The steps as they were before the markers: markers gone, a `say` cut by one joined again.
fn without_markers(steps: &[Step]) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    let mut joined = false;
    for step in steps {
        match &step.kind {
            StepKind::Marker(_) => joined = true,
            StepKind::Say(second) if joined && step.delay.is_zero() => {
                match out.last_mut().map(|s| &mut s.kind) {
                    Some(StepKind::Say(first)) => {
                        *first = SayText::new(format!("{}{}", first.text, second.text));
                    }
                    _ => out.push(step.clone()),
                }
                joined = false;
            }
            _ => {
                out.push(step.clone());
                joined = false;
            }
        }
    }
    out
}

fn no_marker_events(
    events: Vec<(std::time::Duration, Event)>,
) -> Vec<(std::time::Duration, Event)> {
    events
        .into_iter()
        .filter(|(_, e)| !matches!(e, Event::Marker { .. }))
        .collect()
}

#[test]
fn bundled_markers_move_no_event() {
    let library = Library::load(&common::bundled()).unwrap().library;
    let mut checked = 0;
    for s in library.scenarios() {
        for unit in [ChunkUnit::Word, ChunkUnit::Token, ChunkUnit::Sentence] {
            let mut timing = Timing::default().with(&s.timing);
            timing.chunk = unit;
            for (i, turn) in s.turns.iter().enumerate() {
                let plain = match &turn.body {
                    Body::Script(steps) => Body::Script(without_markers(steps)),
                    Body::Recorded(frames) => Body::Recorded(
                        frames
                            .iter()
                            .filter(|(_, e)| !matches!(e, Event::Marker { .. }))
                            .cloned()
                            .collect(),
                    ),
                };
                let play = |body: &Body| {
                    let mut r = pawmock::derive_rng(7, &s.name, i as u64);
                    let seg = expand_turn(body, &timing, &mut r);
                    no_marker_events(seg.events.into_iter().map(|e| (e.at, e.event)).collect())
                };
                assert_eq!(
                    play(&turn.body),
                    play(&plain),
                    "{} turn {i} ({unit:?})",
                    s.name
                );
                checked += 1;
            }
        }
        let markers = s.markers();
        if s.name != "recorded-weather" {
            assert!(
                markers.contains(&"mid-answer".to_owned()),
                "{}: {markers:?}",
                s.name
            );
        }
        let has_tool = s.turns.iter().any(|t| match &t.body {
            Body::Script(steps) => steps
                .iter()
                .any(|st| matches!(st.kind, StepKind::Tool { .. })),
            Body::Recorded(_) => true,
        });
        if has_tool {
            assert!(
                markers.contains(&"after-tool".to_owned()),
                "{}: {markers:?}",
                s.name
            );
        }
    }
    assert!(checked >= 27, "{checked}");
}

#[test]
fn list_shows_each_scenarios_markers() {
    let out = assert_cmd::Command::cargo_bin("pawmock")
        .unwrap()
        .args(["list"])
        .arg(common::bundled())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text.lines().find(|l| l.starts_with("tool-call ")).unwrap();
    assert!(line.ends_with("markers: after-tool, mid-answer"), "{line}");
}
