//! Recordings (`*.jsonl`), modelled on asciicast v3: a header line, then one
//! `[delay_since_previous_s, kind, payload]` array per line.
//!
//! Kinds: `in` / `out` (a client / server text frame: a JSON object, or a string holding
//! the frame's exact text), `in_binary` / `out_binary` (base64), `close`
//! (`{"from", "code", "reason"}`) and `marker` (a name).
//!
//! A PocketPaw recording: each `in` (a client message) starts a turn; the `out` frames
//! up to the next `in` are its reply. Frames before the first `in` (a greeting, a
//! resumed history) belong to the connection, not to a turn, and are not replayed:
//! pawmock sends its own. Closes are kept for the record and not replayed.
//!
//! A recording whose client frames are not PocketPaw actions, or that holds frames that
//! are not JSON objects, is `raw` (see [`super::raw`]): replayed frame for frame.
//!
//! A writer killed mid-line (`pawmock record` under kill -9) leaves a last line cut
//! short, without its newline: that line is skipped with a warning naming it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use super::format::{RecordedDialect, RecordingHeader};
use super::raw::{Exchange, Matcher, RawOut, RawScript, Replies};
use super::scenario::{Body, Scenario, ScenarioKind, Turn, When, check_timing, compile_when};
use crate::located::problem::{JsonPath, Problem};
use crate::located::source::Source;
use crate::protocol::Event;
use crate::protocol::dialect::parse_frame;
use crate::protocol::raw::RawFrame;

/// Reads a recording into a scenario whose Nth turn replays the Nth recorded exchange
/// (or, for a `raw` recording, into its [`RawScript`]).
pub(crate) fn compile(name: &str, file: &Path, text: &str) -> Result<Scenario, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut header: Option<RecordingHeader> = None;
    let mut header_line = 0;
    let mut lines: Vec<(usize, Duration, Entry)> = Vec::new();
    let last_line = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, _)| i)
        .last();
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
                // A writer killed mid-line: the last line, without its newline.
                if header.is_some() && Some(index) == last_line && !text.ends_with('\n') {
                    let warning = format!(
                        "{}:{}: the last line is cut short (the recorder stopped while writing it); it was skipped",
                        file.display(),
                        index + 1
                    );
                    tracing::warn!("{warning}");
                    warnings.push(warning);
                } else {
                    problems.push(p);
                }
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
                    header_line = index;
                }
                Err(p) => {
                    problems.push(p);
                    return Err(problems);
                }
            }
            continue;
        }
        match read_line(&src, value) {
            Ok((delay, entry)) => lines.push((index, delay, entry)),
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
    let header_text = text.lines().nth(header_line).unwrap_or("");
    let header_src = Source {
        file,
        text: header_text,
        line_offset: header_line,
    };
    let raw = is_raw(&header, &lines);
    let mut turns: Vec<Vec<(Duration, Event)>> = Vec::new();
    let mut script = None;
    if raw {
        let matcher = match Matcher::compile(&header.matching.clone().unwrap_or_default()) {
            Ok(m) => m,
            Err(errors) => {
                for (place, message) in errors {
                    let mut path = JsonPath::root().key("match");
                    let (field, index) = place.split_once('[').unwrap_or((&place, "0]"));
                    path = path
                        .key(field)
                        .index(index.trim_end_matches(']').parse().unwrap_or(0));
                    problems.push(header_src.problem(path, message, None));
                }
                Matcher::default()
            }
        };
        script = Some(raw_script(lines, matcher));
    } else {
        if header.matching.is_some() {
            problems.push(header_src.problem(
                JsonPath::root().key("match"),
                "`match` rules apply to raw recordings only; this one replays as PocketPaw".into(),
                Some(r#"add "dialect": "raw" to the header to replay it frame for frame"#.into()),
            ));
        }
        for (index, delay, entry) in lines {
            match entry {
                // The time before a client message is the user's, not the server's: not replayed.
                Entry::In(_) => turns.push(Vec::new()),
                Entry::Out(Payload::Json(frame)) => {
                    if let Some(turn) = turns.last_mut() {
                        turn.push((delay, parse_frame(&frame)));
                    }
                }
                Entry::Marker(name) => {
                    if let Some(turn) = turns.last_mut() {
                        turn.push((delay, Event::Marker { name }));
                    }
                }
                Entry::Close(_) => {}
                Entry::Out(_) => {
                    // `is_raw` makes every recording with such frames raw.
                    problems.push(Problem {
                        file: file.to_owned(),
                        line: index + 1,
                        column: 1,
                        path: JsonPath::root().index(2),
                        message: "a PocketPaw recording's frames are JSON objects".into(),
                        hint: None,
                    });
                }
            }
        }
        if turns.is_empty() && problems.is_empty() {
            problems.push(Problem {
                file: file.to_owned(),
                line: 1,
                column: 1,
                path: JsonPath::root(),
                message: "the recording has no client message (`in` line), so there is nothing to reply to".into(),
                hint: Some(r#"add a line such as [0, "in", {"action": "chat", "message": "hi"}] before the replies, or "dialect": "raw" to the header to replay its frames on connect"#.into()),
            });
        }
    }
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
        kind: if raw {
            ScenarioKind::Raw
        } else {
            ScenarioKind::Recorded
        },
        chaos: Vec::new(),
        raw: script.map(Arc::new),
        warnings,
    })
}

/// Whether a recording replays as `raw`: its header says so, or it holds frames that
/// are not JSON objects, or none of its client frames is a PocketPaw action.
fn is_raw(header: &RecordingHeader, lines: &[(usize, Duration, Entry)]) -> bool {
    match header.dialect {
        Some(RecordedDialect::Raw) => return true,
        Some(RecordedDialect::Docs | RecordedDialect::Dashboard) => return false,
        None => {}
    }
    let mut ins = lines.iter().filter_map(|(_, _, e)| match e {
        Entry::In(p) => Some(p),
        _ => None,
    });
    let not_json = lines.iter().any(|(_, _, e)| {
        matches!(
            e,
            Entry::In(Payload::Text(_) | Payload::Binary(_))
                | Entry::Out(Payload::Text(_) | Payload::Binary(_))
        )
    });
    let has_in = lines.iter().any(|(_, _, e)| matches!(e, Entry::In(_)));
    not_json
        || (has_in
            && !ins.any(|p| {
                matches!(p, Payload::Json(v) if crate::protocol::action::decode(&v.to_string()).is_ok())
            }))
}

fn raw_script(lines: Vec<(usize, Duration, Entry)>, matcher: Matcher) -> RawScript {
    let mut greeting: Replies = Vec::new();
    let mut exchanges: Vec<Exchange> = Vec::new();
    for (_, delay, entry) in lines {
        let out = match entry {
            Entry::In(payload) => {
                exchanges.push(Exchange {
                    trigger: payload.into_frame(),
                    replies: Vec::new(),
                });
                continue;
            }
            Entry::Out(payload) => RawOut::Frame(payload.into_frame()),
            Entry::Marker(name) => RawOut::Marker(name),
            Entry::Close(Close {
                server: true,
                code,
                reason,
            }) => RawOut::Frame(RawFrame::Close { code, reason }),
            // The client's close is the client's to send again.
            Entry::Close(_) => continue,
        };
        match exchanges.last_mut() {
            Some(x) => x.replies.push((delay, out)),
            None => greeting.push((delay, out)),
        }
    }
    RawScript {
        greeting,
        exchanges,
        matcher,
    }
}

/// A frame's payload as the line holds it.
enum Payload {
    /// A JSON object: the frame is its compact text.
    Json(Value),
    /// The frame's exact text.
    Text(String),
    Binary(Vec<u8>),
}

impl Payload {
    fn into_frame(self) -> RawFrame {
        match self {
            Payload::Json(v) => RawFrame::Text(v.to_string().into()),
            Payload::Text(t) => RawFrame::Text(t.into()),
            Payload::Binary(b) => RawFrame::Binary(b.into()),
        }
    }
}

struct Close {
    server: bool,
    code: u16,
    reason: String,
}

enum Entry {
    In(Payload),
    Out(Payload),
    Marker(String),
    Close(Close),
}

fn read_line(src: &Source, value: Value) -> Result<(Duration, Entry), Problem> {
    let shape = || {
        Some(
            r#"each line is [seconds_since_previous, "in" | "out" | "in_binary" | "out_binary" | "close" | "marker", payload]"#.to_owned(),
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
        .ok_or_else(|| {
            format!(
                "the delay must be a number of seconds ≥ 0, got {}",
                items[0]
            )
        })
        .and_then(crate::located::duration::from_secs)
        .map_err(|message| src.problem(JsonPath::root().index(0), message, shape()))?;
    let text_payload = |v: &Value| match v {
        Value::Object(_) => Some(Payload::Json(v.clone())),
        Value::String(s) => Some(Payload::Text(s.clone())),
        _ => None,
    };
    let binary_payload = |v: &Value| {
        v.as_str()
            .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
            .map(Payload::Binary)
    };
    let kind = items[1].as_str();
    let payload = &items[2];
    let entry = match kind {
        Some("in" | "out") => match text_payload(payload) {
            Some(p) if kind == Some("in") => Entry::In(p),
            Some(p) => Entry::Out(p),
            None => {
                return Err(src.problem(
                    JsonPath::root().index(2),
                    format!(
                        "an `{}` payload is a JSON object (a frame) or a string (the frame's exact text), got {payload}",
                        kind.unwrap_or_default()
                    ),
                    None,
                ));
            }
        },
        Some("in_binary" | "out_binary") => match binary_payload(payload) {
            Some(p) if kind == Some("in_binary") => Entry::In(p),
            Some(p) => Entry::Out(p),
            None => {
                return Err(src.problem(
                    JsonPath::root().index(2),
                    format!("a binary frame's payload is its bytes in base64, got {payload}"),
                    None,
                ));
            }
        },
        Some("close") => {
            let from = payload.get("from").and_then(Value::as_str);
            let code = payload
                .get("code")
                .and_then(Value::as_u64)
                .and_then(|c| u16::try_from(c).ok());
            match (from, code) {
                (Some(side @ ("server" | "client")), Some(code)) => Entry::Close(Close {
                    server: side == "server",
                    code,
                    reason: payload
                        .get("reason")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                }),
                _ => {
                    return Err(src.problem(
                        JsonPath::root().index(2),
                        format!("a `close` payload is {{\"from\": \"server\" | \"client\", \"code\": 1000, \"reason\": \"…\"}}, got {payload}"),
                        None,
                    ));
                }
            }
        }
        Some("marker") => match payload {
            Value::String(name) => match marker_problem(name) {
                None => Entry::Marker(name.clone()),
                Some(message) => {
                    return Err(src.problem(
                        JsonPath::root().index(2),
                        message,
                        Some("name it like `answer-starts`: letters, digits, `-`, `_` and `.`, so `?freeze=NAME` can name it as written".to_owned()),
                    ));
                }
            },
            other => {
                return Err(src.problem(
                    JsonPath::root().index(2),
                    format!("a `marker` payload is its name as a string, got {other}"),
                    None,
                ));
            }
        },
        _ => {
            return Err(src.problem(
                JsonPath::root().index(1),
                format!(
                    "the direction must be \"in\", \"out\", \"marker\", \"in_binary\", \"out_binary\" or \"close\", got {}",
                    items[1]
                ),
                shape(),
            ));
        }
    };
    Ok((delay, entry))
}

/// Longest marker name, in bytes.
const MAX_MARKER: usize = 64;

/// What is wrong with a marker's name, if anything: `?freeze=NAME` and `after_marker`
/// name it in a URL, so it is a short word that needs no escaping there.
fn marker_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("a marker needs a name, got \"\"".to_owned());
    }
    if name.len() > MAX_MARKER {
        return Some(format!(
            "a marker's name is at most {MAX_MARKER} bytes, this one has {}",
            name.len()
        ));
    }
    name.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .map(|c| format!("the marker name {name:?} holds {c:?}, which a URL (`?freeze={name}`) would need to escape"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Scenario, Vec<Problem>> {
        compile("r", Path::new("r.jsonl"), text)
    }

    const HEADER: &str = r#"{"version": 1}"#;

    #[test]
    fn pocketpaw_recordings_stay_pocketpaw_and_others_are_raw() {
        let pocketpaw = format!(
            "{HEADER}\n[0, \"in\", {{\"action\": \"chat\", \"message\": \"hi\"}}]\n[0.1, \"out\", {{\"type\": \"stream_end\"}}]\n[0, \"close\", {{\"from\": \"client\", \"code\": 1000}}]\n"
        );
        let s = load(&pocketpaw).unwrap();
        assert_eq!(s.kind, ScenarioKind::Recorded);
        assert!(s.raw.is_none());
        assert_eq!(s.turns.len(), 1);

        let unknown_action = format!(
            "{HEADER}\n[0, \"in\", {{\"op\": \"ask\"}}]\n[0.1, \"out\", {{\"op\": \"answer\"}}]\n"
        );
        let text_frames = format!(
            "{HEADER}\n[0, \"in\", {{\"action\": \"chat\", \"message\": \"hi\"}}]\n[0.1, \"out\", \"plain text\"]\n"
        );
        let by_header = "{\"version\": 1, \"dialect\": \"raw\"}\n[0.2, \"out_binary\", \"AAE=\"]\n";
        for text in [unknown_action.as_str(), text_frames.as_str(), by_header] {
            let s = load(text).unwrap();
            assert_eq!(s.kind, ScenarioKind::Raw, "{text}");
            assert!(s.turns.is_empty());
        }
        let greeting_only = load(by_header).unwrap();
        let script = greeting_only.raw.unwrap();
        assert_eq!(script.greeting.len(), 1);
        assert!(script.exchanges.is_empty());
    }

    #[test]
    fn only_a_cut_last_line_is_forgiven() {
        let cut = format!(
            "{HEADER}\n[0, \"in\", {{\"action\": \"chat\", \"message\": \"hi\"}}]\n[0.1, \"out\", {{\"type\": \"str"
        );
        let s = load(&cut).unwrap();
        assert_eq!(s.warnings.len(), 1);
        assert!(
            s.warnings[0].contains("r.jsonl:3: the last line is cut short"),
            "{:?}",
            s.warnings
        );
        // The same line with its newline was written whole: it is a problem, not a cut.
        let broken = format!("{cut}\n");
        assert!(load(&broken).is_err());
        // And a bad line in the middle is always a problem.
        let middle = format!(
            "{HEADER}\n[0, \"in\", {{\"action\": \"ch\n[0.1, \"out\", {{\"type\": \"stream_end\"}}]"
        );
        assert!(load(&middle).is_err());
    }

    #[test]
    fn bad_match_rules_and_payloads_are_located() {
        let text = "{\"version\": 1, \"dialect\": \"raw\", \"match\": {\"ignore\": [\"$.ok\", \"nope\"]}}\n[0, \"in\", \"x\"]\n";
        let problems = load(text).unwrap_err();
        assert_eq!(problems[0].path.to_string(), "match.ignore[1]");
        let text = format!("{HEADER}\n[0, \"out_binary\", \"%%%\"]\n");
        let problems = load(&text).unwrap_err();
        assert!(
            problems[0].message.contains("base64"),
            "{}",
            problems[0].message
        );
        let text = format!("{HEADER}\n[0, \"close\", {{\"code\": 1000}}]\n");
        let problems = load(&text).unwrap_err();
        assert!(
            problems[0].message.contains("a `close` payload"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn a_raw_recordings_marker_lines_are_what_freeze_may_name() {
        let text = "{\"version\": 1, \"dialect\": \"raw\"}\n[0, \"marker\", \"hello\"]\n[0, \"out\", \"HI\"]\n[1, \"in\", \"Q\"]\n[0, \"marker\", \"mid-answer\"]\n[0, \"out\", \"A\"]\n[1, \"in\", \"Q2\"]\n[0, \"marker\", \"mid-answer\"]\n";
        let s = load(text).unwrap();
        assert_eq!(s.markers(), ["hello", "mid-answer"]);
    }

    #[test]
    fn a_marker_name_freeze_cannot_name_as_written_is_located() {
        for (name, says) in [
            ("", "needs a name"),
            ("mid answer", "' '"),
            ("a&b", "'&'"),
            ("über", "'ü'"),
        ] {
            let text = format!("{HEADER}\n[0, \"marker\", {name:?}]\n");
            let problems = load(&text).unwrap_err();
            assert_eq!(problems[0].path.to_string(), "[2]", "{name:?}");
            assert_eq!(problems[0].line, 2, "{name:?}");
            assert!(
                problems[0].message.contains(says),
                "{}",
                problems[0].message
            );
        }
        let long = "m".repeat(MAX_MARKER + 1);
        assert!(marker_problem(&long).unwrap().contains("at most 64 bytes"));
        assert!(marker_problem("after-tool.v2_x").is_none());
    }
}
