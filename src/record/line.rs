//! Writing the lines of a recording (`*.jsonl`), the format `serve` replays (see
//! `library::recording`): one `[delay_since_previous_s, kind, payload]` array a line.
//!
//! A text frame that is a JSON object whose compact form is its exact text is written
//! as that object (readable, diffable, editable); any other text frame is written as a
//! JSON string holding its exact text, so replay sends the same bytes. Binary frames
//! are `in_binary` / `out_binary` lines with base64 payloads; closes are `close` lines.

use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

/// Who sent a frame: the client (`in`, a turn trigger on replay) or the server (`out`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    In,
    Out,
}

impl Direction {
    fn text_kind(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }

    fn binary_kind(self) -> &'static str {
        match self {
            Direction::In => "in_binary",
            Direction::Out => "out_binary",
        }
    }

    /// `client` or `server`, as a `close` line names the side that closed.
    pub(crate) fn side(self) -> &'static str {
        match self {
            Direction::In => "client",
            Direction::Out => "server",
        }
    }
}

/// Seconds with microsecond precision: enough for any timing and short lines.
fn seconds(delay: Duration) -> Value {
    let micros = delay.as_micros() as f64;
    json!(micros / 1e6)
}

/// The payload of a text frame: the object itself when that round-trips to the same
/// bytes, else the text as a string.
pub(crate) fn text_payload(text: &str) -> Value {
    if text.starts_with('{')
        && let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(text)
        && serde_json::to_string(&v).is_ok_and(|compact| compact == text)
    {
        return v;
    }
    Value::String(text.to_owned())
}

/// A text frame's line.
pub(crate) fn text(delay: Duration, direction: Direction, text: &str) -> String {
    json!([seconds(delay), direction.text_kind(), text_payload(text)]).to_string()
}

/// A binary frame's line.
pub(crate) fn binary(delay: Duration, direction: Direction, bytes: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    json!([seconds(delay), direction.binary_kind(), b64]).to_string()
}

/// A close's line: who closed, the code (1006 when the connection was lost without a
/// close frame) and the reason.
pub(crate) fn close(delay: Duration, by: Direction, code: u16, reason: &str) -> String {
    json!([
        seconds(delay),
        "close",
        {"from": by.side(), "code": code, "reason": reason}
    ])
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_json_objects_are_objects_and_other_text_is_kept_exactly() {
        let d = Duration::from_micros(12_345);
        assert_eq!(
            text(d, Direction::Out, r#"{"type":"x","n":1}"#),
            r#"[0.012345,"out",{"type":"x","n":1}]"#
        );
        assert_eq!(
            text(d, Direction::In, r#"{ "type": "x" }"#),
            r#"[0.012345,"in","{ \"type\": \"x\" }"]"#
        );
        assert_eq!(
            text(Duration::ZERO, Direction::Out, "hello"),
            r#"[0.0,"out","hello"]"#
        );
        assert_eq!(
            binary(Duration::ZERO, Direction::Out, &[0, 255]),
            r#"[0.0,"out_binary","AP8="]"#
        );
        assert_eq!(
            close(Duration::from_secs(1), Direction::Out, 1000, "bye"),
            r#"[1.0,"close",{"from":"server","code":1000,"reason":"bye"}]"#
        );
    }
}
