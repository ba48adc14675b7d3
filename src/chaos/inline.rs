//! One fault written in the URL, without a file:
//! `?fault=KIND:key=value:key=value`, e.g.
//! `?fault=close:code=4003:reason=Unauthorized:after=0s:from=connect` or
//! `?fault=drop:events=text_chunk|thinking:probability=0.1`.
//!
//! The keys are a fault's parameters and its trigger's conditions, flattened; the
//! result goes through the same validation as a profile file.

use std::path::Path;

use serde_json::{Map, Value};

use super::fault::{Fault, compile};
use super::faults::FaultKind;
use super::format::FaultSpec;
use crate::located::problem::JsonPath;
use crate::located::source::Source;

const TRIGGER_KEYS: &[&str] = &[
    "probability",
    "at_step",
    "after_step",
    "after_marker",
    "after",
    "from",
    "turn",
    "attempt",
    "every",
];
/// Keys besides the kinds' own text parameters whose values stay text even when they
/// look like numbers.
const TEXT_KEYS: &[&str] = &["after_marker", "from", "kind"];

/// Parses one inline fault, or says what is wrong with it.
pub fn parse(spec: &str) -> Result<Fault, String> {
    let mut parts = spec.split(':');
    let kind = parts.next().unwrap_or_default();
    let mut fault = Map::new();
    let mut trigger = Map::new();
    fault.insert("kind".into(), Value::String(kind.to_owned()));
    for part in parts {
        let Some((key, value)) = part.split_once('=') else {
            return Err(format!(
                "?fault={spec}: `{part}` is not key=value; write e.g. ?fault=drop:events=text_chunk:probability=0.1"
            ));
        };
        let typed = if key == "events" {
            Value::Array(
                value
                    .split('|')
                    .map(|v| Value::String(v.to_owned()))
                    .collect(),
            )
        } else if FaultKind::ALL.iter().any(|k| k.flags().contains(&key)) {
            match value {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => return Err(format!("?fault={spec}: `{key}` is true or false")),
            }
        } else if TEXT_KEYS.contains(&key)
            || FaultKind::ALL.iter().any(|k| k.texts().contains(&key))
        {
            Value::String(value.to_owned())
        } else {
            serde_json::from_str::<serde_json::Number>(value)
                .map_or_else(|_| Value::String(value.to_owned()), Value::Number)
        };
        let target = if TRIGGER_KEYS.contains(&key) {
            &mut trigger
        } else {
            &mut fault
        };
        target.insert(key.to_owned(), typed);
    }
    if !trigger.is_empty() {
        fault.insert("trigger".into(), Value::Object(trigger));
    }
    let text = Value::Object(fault).to_string();
    let label = format!("?fault={spec}");
    let src = Source::new(Path::new(&label), &text);
    let mut problems = Vec::new();
    let compiled = src
        .deserialize::<FaultSpec>(serde_json::from_str(&text).expect("built as JSON"))
        .map_err(|p| vec![p])
        .and_then(|s| compile(&src, &JsonPath::root(), s, &mut problems).ok_or(problems));
    compiled.map_err(|problems| {
        problems
            .iter()
            .map(|p| format!("{label}: {}: {}", p.path, p.message))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::fault::{Effect, EventKind, Stage};
    use crate::chaos::faults::{close::Close, error::Error};
    use crate::chaos::trigger::Position;

    #[test]
    fn inline_faults_read_like_profile_faults() {
        let f = parse("close:code=4003:reason=Unauthorized:after=0s:from=connect").unwrap();
        assert_eq!(
            f.effect,
            Effect::Close(Close {
                code: 4003,
                reason: "Unauthorized".into()
            })
        );
        assert_eq!(f.stage(), Stage::ConnectTimer);
        let f = parse("drop:events=text_chunk|thinking:probability=0.1").unwrap();
        assert_eq!(
            f.events.as_deref(),
            Some(&[EventKind::TextChunk, EventKind::Thinking][..])
        );
        assert_eq!(f.trigger.probability, Some(0.1));
        let f = parse("stall:after_step=3:events=text_chunk").unwrap();
        assert_eq!(
            (f.trigger.step, f.trigger.position),
            (Some(3), Position::After)
        );
        let f = parse("latency:distribution=uniform:min=5s:max=15s").unwrap();
        assert!(matches!(f.effect, Effect::Latency(_)));
        assert_eq!(
            parse("error:message=42:end_turn=true").unwrap().effect,
            Effect::Error(Error {
                message: "42".into(),
                end_turn: true,
                stream_end: true
            })
        );
    }

    #[test]
    fn bad_inline_faults_say_what_is_wrong() {
        assert!(
            parse("explode")
                .unwrap_err()
                .contains("unknown variant `explode`"),
            "{}",
            parse("explode").unwrap_err()
        );
        assert!(
            parse("drop:probability=2")
                .unwrap_err()
                .contains("`probability` is between 0 and 1")
        );
        assert!(
            parse("close:code=1006")
                .unwrap_err()
                .contains("close code 1006 cannot be sent")
        );
        assert!(parse("drop:oops").unwrap_err().contains("is not key=value"));
        assert!(
            parse("drop:code=1000")
                .unwrap_err()
                .contains("`code` is not a parameter of a `drop` fault")
        );
    }
}
