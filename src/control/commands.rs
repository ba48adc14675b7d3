//! Commands the control API sends into a connection, and reading them from request
//! bodies. Each command carries a one-shot sender for the connection's answer.

use std::path::Path;

use serde_json::Value;
use tokio::sync::oneshot;

use super::ApiError;
use crate::chaos::fault::compile;
use crate::chaos::format::FaultSpec;
use crate::chaos::{Fault, Stage};
use crate::library::scenario::{Step, StepKind, compile_loose_steps};
use crate::located::problem::JsonPath;
use crate::located::source::Source;

/// What the API asks a connection to do.
#[derive(Debug)]
pub(crate) enum Command {
    /// Hold the playhead (of the turn in flight and of the turns that start while held).
    Pause,
    /// Let it go on from where it stopped (also ends a freeze).
    Resume,
    /// While held: send the next due frame only.
    Step,
    /// Play at this pace from now on (2 is twice as fast).
    Speed(crate::speed::Speed),
    /// A fault, applied now when its kind allows or to the next turn.
    Fault(Fault),
    /// Frames sent now, outside any turn.
    Send(Outgoing),
    Close {
        code: u16,
        reason: String,
    },
}

impl Command {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Command::Pause => "pause",
            Command::Resume => "resume",
            Command::Step => "step",
            Command::Speed(_) => "speed",
            Command::Fault(_) => "fault",
            Command::Send(_) => "send",
            Command::Close { .. } => "close",
        }
    }
}

/// What `send` sends.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// Steps in the scenario syntax, rendered in the connection's dialect.
    Steps(Vec<Step>),
    /// A text frame sent exactly as given.
    Raw(String),
}

/// A command and where its answer goes.
#[derive(Debug)]
pub(crate) struct Envelope {
    pub(crate) command: Command,
    pub(crate) reply: oneshot::Sender<Result<Value, ApiError>>,
}

/// The actions a connection route takes, for hints.
pub(crate) const ACTIONS: &str = "pause, resume, step, speed, fault, send, close";

/// Reads the command `action` from its request body.
pub(crate) fn parse(action: &str, body: &[u8]) -> Result<Command, ApiError> {
    let json = || -> Result<Value, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(
                format!("the request body is not JSON: {e}"),
                format!("send a JSON body to /{action}, e.g. {}", example(action)),
            )
        })
    };
    match action {
        "pause" => Ok(Command::Pause),
        "resume" => Ok(Command::Resume),
        "step" => Ok(Command::Step),
        "speed" => speed(&json()?),
        "fault" => fault(&json()?).map(Command::Fault),
        "send" => send(json()?),
        "close" => close(&json()?),
        other => Err(ApiError::not_found(
            format!("no action `{other}` on a connection"),
            format!("POST one of: {ACTIONS}"),
        )),
    }
}

fn example(action: &str) -> &'static str {
    match action {
        "speed" => r#"{"speed": 0.5}"#,
        "fault" => r#""close:code=1012:reason=restart" or {"kind": "abort"}"#,
        "send" => {
            r#"{"inbox": {"channel": "telegram", "message": "hi"}} or {"raw": "{\"type\":\"ping\"}"}"#
        }
        "close" => r#"{"code": 1012, "reason": "restart"}"#,
        _ => "{}",
    }
}

fn speed(body: &Value) -> Result<Command, ApiError> {
    let hint = || {
        "send {\"speed\": 0.5}: 1 is the scenario's pace, 2 twice as fast, 0 without delays"
            .to_owned()
    };
    let Some(s) = body.get("speed") else {
        return Err(ApiError::bad_request("the body has no `speed`", hint()));
    };
    match s.as_f64().and_then(crate::speed::Speed::new) {
        Some(speed) => Ok(Command::Speed(speed)),
        None => Err(ApiError::bad_request(
            format!("`speed` must be {}, got {s}", crate::speed::Speed::RULE),
            hint(),
        )),
    }
}

/// A fault in the `?fault=` syntax (a JSON string) or its JSON form (an object).
pub(crate) fn fault(body: &Value) -> Result<Fault, ApiError> {
    let hint = "a fault is the ?fault= syntax as a JSON string, e.g. \"close:code=1012:reason=restart\", or its JSON form, e.g. {\"kind\": \"error\", \"message\": \"boom\"}";
    let fault = match body {
        Value::String(s) => {
            crate::chaos::inline::parse(s).map_err(|e| ApiError::bad_request(e, hint))?
        }
        Value::Object(_) => {
            let text = body.to_string();
            let label = Path::new("fault");
            let src = Source::new(label, &text);
            let mut problems = Vec::new();
            src.deserialize::<FaultSpec>(body.clone())
                .map_err(|p| vec![p])
                .and_then(|s| compile(&src, &JsonPath::root(), s, &mut problems).ok_or(problems))
                .map_err(|problems| ApiError::bad_request(problem_lines(&problems), hint))?
        }
        other => {
            return Err(ApiError::bad_request(
                format!("a fault cannot be {other}"),
                hint,
            ));
        }
    };
    if fault.stage() == Stage::Handshake {
        return Err(ApiError::bad_request(
            format!(
                "`{}` refuses handshakes; a live connection is past that",
                fault.name()
            ),
            "put it in the URL (?fault=reject:status=403) so the next connection attempt meets it",
        ));
    }
    Ok(fault)
}

fn send(body: Value) -> Result<Command, ApiError> {
    let hint = r#"send one step in the scenario syntax, e.g. {"say": "hi"}, {"inbox": {"channel": "slack", "message": "new"}}, {"error": "boom"}, a list of steps, or {"raw": "any text frame"}"#;
    if let Some(raw) = body.get("raw") {
        if body.as_object().is_some_and(|o| o.len() > 1) {
            return Err(ApiError::bad_request(
                "`raw` goes alone: the frame is sent as given",
                hint,
            ));
        }
        return match raw {
            Value::String(s) => Ok(Command::Send(Outgoing::Raw(s.clone()))),
            Value::Null => Err(ApiError::bad_request("`raw` is null", hint)),
            // A JSON value is sent as its JSON text.
            other => Ok(Command::Send(Outgoing::Raw(other.to_string()))),
        };
    }
    if body.is_null() || body.as_array().is_some_and(Vec::is_empty) {
        return Err(ApiError::bad_request(
            "nothing to send: the body is empty",
            hint,
        ));
    }
    let steps = compile_loose_steps(&body)
        .map_err(|problems| ApiError::bad_request(problem_lines(&problems), hint))?;
    if steps.iter().any(|s| matches!(s.kind, StepKind::Plan(_))) {
        return Err(ApiError::bad_request(
            "a `plan` waits for an answer, so it belongs in a turn, not in `send`",
            "put the plan in a scenario turn",
        ));
    }
    Ok(Command::Send(Outgoing::Steps(steps)))
}

/// Close codes a server may send (RFC 6455 §7.4: not 1004–1006 or 1015).
fn valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

fn close(body: &Value) -> Result<Command, ApiError> {
    let hint = r#"send {"code": 1012, "reason": "restart"}: code 1000–1003, 1007–1014 or 3000–4999, reason up to 123 bytes"#;
    if !(body.is_null() || body.is_object()) {
        return Err(ApiError::bad_request(
            format!("the body cannot be {body}"),
            hint,
        ));
    }
    let code = match body.get("code") {
        None | Some(Value::Null) => 1000,
        Some(c) => match c.as_u64().and_then(|c| u16::try_from(c).ok()) {
            Some(c) if valid_close_code(c) => c,
            _ => {
                return Err(ApiError::bad_request(
                    format!("{c} is not a close code a server may send"),
                    hint,
                ));
            }
        },
    };
    let reason = match body.get("reason") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(r)) if r.len() <= 123 => r.clone(),
        Some(Value::String(_)) => {
            return Err(ApiError::bad_request("the reason is over 123 bytes", hint));
        }
        Some(other) => {
            return Err(ApiError::bad_request(
                format!("`reason` must be text, got {other}"),
                hint,
            ));
        }
    };
    Ok(Command::Close { code, reason })
}

fn problem_lines(problems: &[crate::library::Problem]) -> String {
    problems
        .iter()
        .map(|p| {
            let at = p.path.to_string();
            if at.is_empty() {
                p.message.clone()
            } else {
                format!("{at}: {}", p.message)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(action: &str, body: &str) -> String {
        parse(action, body.as_bytes()).unwrap_err().error
    }

    #[test]
    fn bodies_become_commands() {
        assert!(matches!(parse("pause", b""), Ok(Command::Pause)));
        assert!(
            matches!(parse("speed", br#"{"speed": 0.5}"#), Ok(Command::Speed(s)) if s.get() == 0.5)
        );
        assert!(matches!(
            parse("close", br#"{"code": 1012, "reason": "restart"}"#),
            Ok(Command::Close { code: 1012, .. })
        ));
        assert!(matches!(
            parse("close", b""),
            Ok(Command::Close { code: 1000, .. })
        ));
        assert!(matches!(
            parse("fault", br#""abort""#),
            Ok(Command::Fault(_))
        ));
        assert!(matches!(
            parse("fault", br#"{"kind": "error", "message": "boom"}"#),
            Ok(Command::Fault(_))
        ));
        assert!(matches!(
            parse("send", br#"{"raw": "{\"type\":\"x\"}"}"#),
            Ok(Command::Send(Outgoing::Raw(r))) if r == r#"{"type":"x"}"#
        ));
        assert!(matches!(
            parse("send", br#"[{"say": "a"}, {"inbox": {"channel": "slack", "message": "m"}}]"#),
            Ok(Command::Send(Outgoing::Steps(s))) if s.len() == 2
        ));
    }

    #[test]
    fn bad_bodies_say_what_is_wrong() {
        assert!(err("speed", "{}").contains("no `speed`"));
        assert!(err("speed", r#"{"speed": -1}"#).contains("from 0.001 up"));
        assert!(err("speed", "{oops").contains("not JSON"));
        assert!(err("close", r#"{"code": 1006}"#).contains("not a close code"));
        assert!(err("close", r#"{"reason": 5}"#).contains("must be text"));
        assert!(err("fault", r#""explode""#).contains("explode"));
        assert!(err("fault", r#"{"kind": "drop", "colour": 1}"#).contains("colour"));
        assert!(err("fault", r#""reject:status=403""#).contains("refuses handshakes"));
        assert!(err("send", r#"{"shout": "x"}"#).contains("shout"));
        assert!(err("send", r#"{"plan": "p"}"#).contains("belongs in a turn"));
        assert!(err("send", "").contains("nothing to send"));
        assert_eq!(parse("dance", b"").unwrap_err().status, 404);
    }
}
