//! Server → client events, independent of the dialect they are rendered in.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One message of a session's history, as `session_switched` / `session_history` carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HistoryMessage {
    /// `user` or `assistant` (anything else renders as the assistant in the dashboard).
    pub role: String,
    /// The message text (markdown for the assistant).
    pub content: String,
}

/// Everything pawmock can send, before a dialect gives it a shape.
///
/// `Marker` is never sent: it names a point in a turn (for chaos triggers and logs).
/// `Raw` passes through untouched, which is how unknown recorded frames survive replay.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    StreamStart,
    /// A piece of the answer. Shared (`Arc`): the same pieces of a scenario's text go
    /// to every connection that plays it.
    TextChunk {
        text: Arc<str>,
    },
    StreamEnd,
    Thinking {
        text: String,
    },
    ToolStart {
        tool: String,
        input: Value,
    },
    ToolResult {
        tool: String,
        result: Value,
        is_error: bool,
    },
    Error {
        message: String,
    },
    /// The agent failed during a turn (a scenario's `error` step). The docs dialect
    /// shows it as `error`; the dashboard dialect as the real backend does (addendum
    /// C.1): a backend error event, or an `exception` that escaped the agent loop.
    AgentError {
        message: String,
        exception: bool,
    },
    PlanCreated {
        plan: String,
    },
    SessionSwitched {
        session_id: String,
        messages: Vec<HistoryMessage>,
    },
    NewSession {
        session_id: String,
    },
    InboxUpdate {
        channel: String,
        message: String,
        session_id: String,
    },
    ConnectionInfo {
        connection_id: String,
    },
    Notification {
        content: String,
    },
    Marker {
        name: String,
    },
    Raw(Value),
    /// A frame of a protocol pawmock does not know (a `raw` recording), sent exactly
    /// as recorded: never rendered by the PocketPaw dialects.
    Frame(super::raw::RawFrame),
}

impl Event {
    /// The kind name used in logs and (later) by chaos filters: `text_chunk`, `tool_start`, …
    pub fn kind(&self) -> &'static str {
        match self {
            Event::StreamStart => "stream_start",
            Event::TextChunk { .. } => "text_chunk",
            Event::StreamEnd => "stream_end",
            Event::Thinking { .. } => "thinking",
            Event::ToolStart { .. } => "tool_start",
            Event::ToolResult { .. } => "tool_result",
            Event::Error { .. } | Event::AgentError { .. } => "error",
            Event::PlanCreated { .. } => "plan",
            Event::SessionSwitched { .. } => "session_switched",
            Event::NewSession { .. } => "new_session",
            Event::InboxUpdate { .. } => "inbox",
            Event::ConnectionInfo { .. } => "connection_info",
            Event::Notification { .. } => "notification",
            Event::Marker { .. } => "marker",
            Event::Raw(_) | Event::Frame(_) => "frame",
        }
    }
}

/// One event and when to send it, as an offset from the start of its segment: what
/// `playback` produces and `chaos` transforms. Here beside [`Event`], below both, so
/// `chaos` does not import `playback` for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Scheduled {
    pub at: std::time::Duration,
    pub event: Event,
}
