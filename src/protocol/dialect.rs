//! The two shapes of the same protocol, and the conversion between them.
//!
//! `docs` is PocketPaw's published page (`response_chunk`, top-level `tool_start`, …,
//! each with `session_id`). `dashboard` is what the shipped dashboard really speaks
//! (`stream_start`, `message` chunks, `system_event` wrappers, `session_history`, …).

use std::fmt;
use std::str::FromStr;

use serde_json::{Value, json};

use super::event::{Event, HistoryMessage};

/// The shape frames take on one connection.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    Docs,
    Dashboard,
}

impl Dialect {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Dialect::Docs => "docs",
            Dialect::Dashboard => "dashboard",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the server or a URL asks for: a fixed dialect, or `auto` (decided by the first
/// dialect-specific action the client sends; `docs` until then).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DialectChoice {
    #[default]
    Auto,
    Docs,
    Dashboard,
}

impl FromStr for DialectChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(DialectChoice::Auto),
            "docs" => Ok(DialectChoice::Docs),
            "dashboard" => Ok(DialectChoice::Dashboard),
            other => Err(format!(
                "unknown dialect `{other}`: use auto, docs or dashboard"
            )),
        }
    }
}

impl fmt::Display for DialectChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DialectChoice::Auto => "auto",
            DialectChoice::Docs => "docs",
            DialectChoice::Dashboard => "dashboard",
        })
    }
}

/// Renders an event as the JSON frame `dialect` expects, or `None` when the dialect has
/// no such frame (the docs page has no `stream_start` or `connection_info`; markers are
/// never sent).
///
/// `session_id` is the session the event belongs to: docs frames carry it as
/// `session_id`, dashboard `system_event`s as `session_key` in colon form.
pub fn render(event: &Event, dialect: Dialect, session_id: &str) -> Option<Value> {
    match dialect {
        Dialect::Docs => render_docs(event, session_id),
        Dialect::Dashboard => render_dashboard(event, session_id),
    }
}

/// Renders an event as the text of its frame: the same bytes as
/// `render(..).to_string()`.
///
/// The frames a turn is made of (answer chunks and `stream_end`) are written straight
/// into one string of the right size, without building a `Value` map or going through
/// a serializer: at speed 0 that was a third, then a fifth, of the server's work per
/// frame. Every other event goes through [`render`].
pub fn render_text(event: &Event, dialect: Dialect, session_id: &str) -> Option<String> {
    use Part::{Json, Raw};
    Some(match (event, dialect) {
        (Event::TextChunk { text }, Dialect::Docs) => write_frame(&[
            Raw(r#"{"type":"response_chunk","content":"#),
            Json(text),
            Raw(r#","session_id":"#),
            Json(session_id),
            Raw("}"),
        ]),
        (Event::TextChunk { text }, Dialect::Dashboard) => write_frame(&[
            Raw(r#"{"type":"message","content":"#),
            Json(text),
            Raw(r#","is_stream_chunk":true,"metadata":{}}"#),
        ]),
        (Event::StreamEnd, Dialect::Docs) => write_frame(&[
            Raw(r#"{"type":"stream_end","session_id":"#),
            Json(session_id),
            Raw("}"),
        ]),
        (Event::StreamEnd, Dialect::Dashboard) => r#"{"type":"stream_end"}"#.into(),
        _ => return render(event, dialect, session_id).map(|v| v.to_string()),
    })
}

/// A piece of a frame written by [`render_text`].
enum Part<'a> {
    /// JSON text, copied as it is.
    Raw(&'a str),
    /// A string value, written quoted and escaped.
    Json(&'a str),
}

fn write_frame(parts: &[Part]) -> String {
    let size = parts
        .iter()
        .map(|p| match p {
            Part::Raw(s) => s.len(),
            Part::Json(s) => s.len() + 2,
        })
        .sum();
    let mut out = String::with_capacity(size);
    for p in parts {
        match p {
            Part::Raw(s) => out.push_str(s),
            Part::Json(s) => push_json_string(&mut out, s),
        }
    }
    out
}

/// Appends `s` as a JSON string, escaped exactly as serde_json escapes it. Answer text
/// rarely needs escaping, so the common case is one scan and one copy.
fn push_json_string(out: &mut String, s: &str) {
    if s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(&Value::from(s).to_string());
    } else {
        out.push('"');
        out.push_str(s);
        out.push('"');
    }
}

fn render_docs(event: &Event, sid: &str) -> Option<Value> {
    Some(match event {
        Event::StreamStart
        | Event::ConnectionInfo { .. }
        | Event::Marker { .. }
        | Event::Frame(_) => return None,
        Event::TextChunk { text } => {
            json!({"type": "response_chunk", "content": &**text, "session_id": sid})
        }
        Event::StreamEnd => json!({"type": "stream_end", "session_id": sid}),
        Event::Thinking { text } => json!({"type": "thinking", "content": text, "session_id": sid}),
        Event::ToolStart { tool, input } => {
            json!({"type": "tool_start", "tool": tool, "input": input, "session_id": sid})
        }
        Event::ToolResult { tool, result, .. } => {
            json!({"type": "tool_result", "tool": tool, "result": result, "session_id": sid})
        }
        Event::Error { message } | Event::AgentError { message, .. } => {
            json!({"type": "error", "message": message, "session_id": sid})
        }
        Event::PlanCreated { plan } => {
            json!({"type": "plan_created", "plan": plan, "session_id": sid})
        }
        Event::SessionSwitched {
            session_id,
            messages,
        } => json!({"type": "session_switched", "session_id": session_id, "messages": messages}),
        // The page defines no reply to `new_session`; a switch to the fresh, empty session
        // is what a docs client can act on.
        Event::NewSession { session_id } => {
            json!({"type": "session_switched", "session_id": session_id, "messages": []})
        }
        Event::InboxUpdate {
            channel,
            message,
            session_id,
        } => {
            json!({"type": "inbox_update", "channel": channel, "message": message, "session_id": session_id})
        }
        Event::Notification { content } => json!({"type": "notification", "content": content}),
        Event::Raw(v) => v.clone(),
    })
}

fn render_dashboard(event: &Event, sid: &str) -> Option<Value> {
    Some(match event {
        Event::Marker { .. } | Event::Frame(_) => return None,
        Event::StreamStart => json!({"type": "stream_start"}),
        Event::TextChunk { text } => {
            json!({"type": "message", "content": &**text, "is_stream_chunk": true, "metadata": {}})
        }
        Event::StreamEnd => json!({"type": "stream_end"}),
        Event::Thinking { text } => system_event(
            "thinking",
            json!({"content": text, "session_key": session_key(sid)}),
        ),
        Event::ToolStart { tool, input } => {
            system_event("tool_start", json!({"name": tool, "params": input}))
        }
        Event::ToolResult {
            tool,
            result,
            is_error,
        } => system_event(
            "tool_result",
            json!({
                "name": tool,
                "result": result_text(result),
                "status": if *is_error { "error" } else { "success" },
            }),
        ),
        Event::Error { message } => json!({"type": "error", "content": message}),
        // The real backend never sends `type:"error"` during a turn (addendum C.1).
        // Path 1 is two frames: this one, then [`follow_up`]'s answer chunk.
        Event::AgentError {
            message,
            exception: false,
        } => system_event(
            "tool_result",
            json!({"name": "agent", "result": message, "status": "error"}),
        ),
        Event::AgentError {
            message,
            exception: true,
        } => json!({
            "type": "message",
            "content": format!("An error occurred: {message}"),
            "is_stream_chunk": false,
            "metadata": {},
        }),
        // The dashboard has no live plan frame; `plan_proposed` is what its (unloaded)
        // plan-mode module listens for, so a custom frontend can pick it up.
        Event::PlanCreated { plan } => json!({
            "type": "plan_proposed",
            "session_key": session_key(sid),
            "plan": plan,
            "status": "proposed",
        }),
        Event::SessionSwitched {
            session_id,
            messages,
        } => json!({"type": "session_history", "session_id": session_id, "messages": messages}),
        Event::NewSession { session_id } => json!({"type": "new_session", "id": session_id}),
        Event::InboxUpdate {
            channel,
            message,
            session_id,
        } => {
            json!({"type": "inbox_update", "channel": channel, "message": message, "session_id": session_id})
        }
        Event::ConnectionInfo { connection_id } => json!({
            "type": "connection_info",
            "content": "Connected to PocketPaw",
            "id": connection_id,
        }),
        Event::Notification { content } => json!({"type": "notification", "content": content}),
        Event::Raw(v) => v.clone(),
    })
}

/// The frame that follows an event's own, for the one event that is two frames on the
/// wire: an agent error reported by the backend (addendum C.1 path 1) is a failed
/// `agent` tool_result, then its text as an answer chunk.
pub(crate) fn follow_up(event: &Event, dialect: Dialect) -> Option<String> {
    match (event, dialect) {
        (
            Event::AgentError {
                message,
                exception: false,
            },
            Dialect::Dashboard,
        ) => Some(
            json!({"type": "message", "content": message, "is_stream_chunk": true, "metadata": {}})
                .to_string(),
        ),
        _ => None,
    }
}

/// The empty thinking event the real backend sends at the start of every turn
/// (addendum C.2), in the dashboard dialect.
pub(crate) fn turn_thinking(session_id: &str) -> String {
    system_event("thinking", json!({"session_key": session_key(session_id)})).to_string()
}

/// Whether the dashboard dialect's frame for `event` goes to every dashboard
/// connection (addendum C.3: the bus's `system_event`s), not only the one chatting.
pub(crate) fn reaches_every_dashboard(event: &Event) -> bool {
    matches!(
        event,
        Event::Thinking { .. }
            | Event::ToolStart { .. }
            | Event::ToolResult { .. }
            | Event::AgentError {
                exception: false,
                ..
            }
    )
}

fn system_event(event_type: &str, data: Value) -> Value {
    json!({"type": "system_event", "event_type": event_type, "data": data})
}

/// `websocket_<uuid>` becomes `websocket:<uuid>`: the dashboard's `session_key` form.
fn session_key(session_id: &str) -> String {
    session_id.replacen('_', ":", 1)
}

fn result_text(result: &Value) -> Value {
    match result {
        Value::String(_) => result.clone(),
        other => Value::String(other.to_string()),
    }
}

/// Reads a recorded server frame (of either dialect) back into an [`Event`], so that a
/// recording made in one dialect replays in the other. Frames it does not recognise stay
/// [`Event::Raw`] and are sent unchanged.
pub(crate) fn parse_frame(frame: &Value) -> Event {
    recognise(frame).unwrap_or_else(|| Event::Raw(frame.clone()))
}

fn recognise(frame: &Value) -> Option<Event> {
    let str_field = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let kind = frame.get("type")?.as_str()?;
    Some(match kind {
        "stream_start" => Event::StreamStart,
        "stream_end" => Event::StreamEnd,
        "response_chunk" => Event::TextChunk {
            text: str_field(frame, "content")?.into(),
        },
        // Only streamed chunks are answer text; a complete `message` is something else
        // (a command reply, a settings confirmation) and is kept as it was.
        "message" if frame.get("is_stream_chunk") == Some(&Value::Bool(true)) => Event::TextChunk {
            text: str_field(frame, "content")?.into(),
        },
        "thinking" => Event::Thinking {
            text: str_field(frame, "content")?,
        },
        "tool_start" => Event::ToolStart {
            tool: str_field(frame, "tool")?,
            input: frame.get("input").cloned().unwrap_or(Value::Null),
        },
        "tool_result" => Event::ToolResult {
            tool: str_field(frame, "tool")?,
            result: frame.get("result").cloned().unwrap_or(Value::Null),
            is_error: false,
        },
        "error" => Event::Error {
            message: str_field(frame, "message").or_else(|| str_field(frame, "content"))?,
        },
        "plan_created" => Event::PlanCreated {
            plan: str_field(frame, "plan")?,
        },
        "plan_proposed" => Event::PlanCreated {
            plan: str_field(frame, "plan")?,
        },
        "inbox_update" => Event::InboxUpdate {
            channel: str_field(frame, "channel")?,
            message: str_field(frame, "message")?,
            session_id: str_field(frame, "session_id").unwrap_or_default(),
        },
        "notification" => Event::Notification {
            content: str_field(frame, "content")?,
        },
        "session_switched" | "session_history" => Event::SessionSwitched {
            session_id: str_field(frame, "session_id")?,
            messages: serde_json::from_value::<Vec<HistoryMessage>>(frame.get("messages")?.clone())
                .ok()?,
        },
        "new_session" => Event::NewSession {
            session_id: str_field(frame, "id")?,
        },
        "system_event" => {
            let data = frame.get("data")?;
            match frame.get("event_type")?.as_str()? {
                "thinking" => Event::Thinking {
                    text: str_field(data, "content")?,
                },
                "tool_start" => Event::ToolStart {
                    tool: str_field(data, "name")?,
                    input: data.get("params").cloned().unwrap_or(Value::Null),
                },
                "tool_result" => Event::ToolResult {
                    tool: str_field(data, "name")?,
                    result: data.get("result").cloned().unwrap_or(Value::Null),
                    is_error: data.get("status").and_then(Value::as_str) == Some("error"),
                },
                _ => return None,
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dashboard_recording_replays_in_the_docs_dialect() {
        let recorded = json!({"type":"system_event","event_type":"tool_start","data":{"name":"web_search","params":{"q":"x"}}});
        let event = parse_frame(&recorded);
        assert_eq!(
            render(&event, Dialect::Docs, "websocket_1"),
            Some(
                json!({"type":"tool_start","tool":"web_search","input":{"q":"x"},"session_id":"websocket_1"})
            )
        );
        assert_eq!(
            render(&event, Dialect::Dashboard, "websocket_1"),
            Some(recorded)
        );
    }

    #[test]
    fn unknown_frames_pass_through_unchanged() {
        let frame = json!({"type":"token_usage_custom","n":3});
        assert_eq!(parse_frame(&frame), Event::Raw(frame.clone()));
        assert_eq!(
            render(&Event::Raw(frame.clone()), Dialect::Docs, "s"),
            Some(frame)
        );
    }

    #[test]
    fn a_complete_message_is_not_taken_for_a_chunk() {
        let frame = json!({"type":"message","content":"⚙️ Settings updated"});
        assert_eq!(parse_frame(&frame), Event::Raw(frame.clone()));
    }

    #[test]
    fn frames_written_directly_are_the_bytes_render_gives() {
        let texts = [
            "plain ",
            "quotes \" and \\ backslash",
            "control \u{1} \t tab \n newline \r",
            "日本語 🐾 é",
            "</script>",
            "del \u{7f} and line separator \u{2028}",
            "",
        ];
        let mut events = vec![
            Event::StreamEnd,
            Event::StreamStart,
            Event::Error {
                message: "x".into(),
            },
        ];
        events.extend(texts.iter().map(|t| Event::TextChunk { text: (*t).into() }));
        for dialect in [Dialect::Docs, Dialect::Dashboard] {
            for sid in ["websocket_1", "a\"b"] {
                for e in &events {
                    assert_eq!(
                        render_text(e, dialect, sid),
                        render(e, dialect, sid).map(|v| v.to_string()),
                        "{dialect} {e:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn thinking_carries_the_colon_session_key_in_the_dashboard() {
        let f = render(
            &Event::Thinking { text: "hm".into() },
            Dialect::Dashboard,
            "websocket_ab",
        )
        .unwrap();
        assert_eq!(f["data"]["session_key"], "websocket:ab");
    }
}
