//! Recordings (`*.jsonl`), modelled on asciicast v3: a header line, then one
//! `[delay_since_previous_s, "in" | "out" | "marker", payload]` array per line.
//!
//! Each `in` (a client message) starts a turn; the `out` frames up to the next `in` are
//! its reply. Frames before the first `in` (a greeting, a resumed history) belong to the
//! connection, not to a turn, and are not replayed: pawmock sends its own.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::format::RecordingHeader;
use super::problem::{JsonPath, Problem};
use super::scenario::{Body, Scenario, ScenarioKind, Turn, When, check_timing, compile_when};
use super::source::Source;
use crate::protocol::Event;
use crate::protocol::dialect::parse_frame;

/// Reads a recording into a scenario whose Nth turn replays the Nth recorded exchange.
pub fn compile(name: &str, file: &Path, text: &str) -> Result<Scenario, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut header: Option<RecordingHeader> = None;
    let mut turns: Vec<Vec<(Duration, Event)>> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let src = Source {
            file,
            text: line,
            line_offset: index,
        };
        let value = match src.parse() {
            Ok(v) => v,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        if header.is_none() {
            match src.deserialize::<RecordingHeader>(value) {
                Ok(h) => {
                    if h.version != 1 {
                        problems.push(src.problem(
                            JsonPath::root().key("version"),
                            format!("unsupported recording version {}", h.version),
                            Some("this pawmock reads version 1".into()),
                        ));
                    }
                    check_timing(
                        &src,
                        &JsonPath::root().key("timing"),
                        &h.timing,
                        &mut problems,
                    );
                    header = Some(h);
                }
                Err(p) => {
                    problems.push(p);
                    return Err(problems);
                }
            }
            continue;
        }
        match read_line(&src, value) {
            // The time before a client message is the user's, not the server's: not replayed.
            Ok((_, Entry::In)) => turns.push(Vec::new()),
            Ok((delay, entry)) => {
                if let Some(turn) = turns.last_mut() {
                    turn.push((delay, entry.into_event()));
                }
            }
            Err(p) => problems.push(p),
        }
    }
    let Some(header) = header else {
        problems.push(Problem {
            file: file.to_owned(),
            line: 1,
            column: 1,
            path: JsonPath::root(),
            message: "the recording has no header line".into(),
            hint: Some(r#"start it with {"version": 1, "title": "…"}"#.into()),
        });
        return Err(problems);
    };
    if turns.is_empty() && problems.is_empty() {
        problems.push(Problem {
            file: file.to_owned(),
            line: 1,
            column: 1,
            path: JsonPath::root(),
            message: "the recording has no client message (`in` line), so there is nothing to reply to".into(),
            hint: Some(r#"add a line such as [0, "in", {"action": "chat", "message": "hi"}] before the replies"#.into()),
        });
    }
    let header_line = text
        .lines()
        .position(|l| !(l.trim().is_empty() || l.trim().starts_with('#')))
        .unwrap_or(0);
    let header_text = text.lines().nth(header_line).unwrap_or("");
    let header_src = Source {
        file,
        text: header_text,
        line_offset: header_line,
    };
    let selector = match &header.when {
        None => None,
        Some(w) => compile_when(
            &header_src,
            &JsonPath::root().key("when"),
            Some(w),
            &mut problems,
        ),
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Scenario {
        on_connect: Vec::new(),
        name: name.to_owned(),
        title: header.title.unwrap_or_else(|| name.to_owned()),
        description: header.description,
        file: file.to_owned(),
        timing: header.timing,
        history: Vec::new(),
        session_id: format!("websocket_{name}"),
        turns: turns
            .into_iter()
            .enumerate()
            .map(|(i, frames)| Turn {
                when: When::Turn(i as u32 + 1),
                body: Body::Recorded(frames),
            })
            .collect(),
        selector,
        kind: ScenarioKind::Recorded,
        chaos: Vec::new(),
    })
}

enum Entry {
    In,
    Out(Value),
    Marker(String),
}

impl Entry {
    fn into_event(self) -> Event {
        match self {
            Entry::In => unreachable!("`in` starts a turn"),
            Entry::Out(frame) => parse_frame(&frame),
            Entry::Marker(name) => Event::Marker { name },
        }
    }
}

fn read_line(src: &Source, value: Value) -> Result<(Duration, Entry), Problem> {
    let shape = || {
        Some(
            r#"each line is [seconds_since_previous, "in" | "out" | "marker", payload]"#.to_owned(),
        )
    };
    let Value::Array(items) = value else {
        return Err(src.problem(
            JsonPath::root(),
            "a recording line must be a JSON array".into(),
            shape(),
        ));
    };
    if items.len() != 3 {
        return Err(src.problem(
            JsonPath::root(),
            format!("a recording line has 3 items, this one has {}", items.len()),
            shape(),
        ));
    }
    let delay = items[0]
        .as_f64()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| {
            src.problem(
                JsonPath::root().index(0),
                format!(
                    "the delay must be a number of seconds ≥ 0, got {}",
                    items[0]
                ),
                shape(),
            )
        })?;
    let entry = match (items[1].as_str(), &items[2]) {
        (Some("in"), Value::Object(_)) => Entry::In,
        (Some("out"), frame @ Value::Object(_)) => Entry::Out(frame.clone()),
        (Some("marker"), Value::String(name)) => Entry::Marker(name.clone()),
        (Some(kind @ ("in" | "out")), other) => {
            return Err(src.problem(
                JsonPath::root().index(2),
                format!("an `{kind}` payload is a JSON object (a frame), got {other}"),
                None,
            ));
        }
        (Some("marker"), other) => {
            return Err(src.problem(
                JsonPath::root().index(2),
                format!("a `marker` payload is its name as a string, got {other}"),
                None,
            ));
        }
        _ => {
            return Err(src.problem(
                JsonPath::root().index(1),
                format!(
                    "the direction must be \"in\", \"out\" or \"marker\", got {}",
                    items[1]
                ),
                shape(),
            ));
        }
    };
    Ok((delay, entry))
}
