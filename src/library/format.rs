//! The file formats as serde types. Their JSON Schema (in `schema/`) is generated from
//! these definitions, so the doc comments here are what editors show.
//!
//! Polymorphic parts (`when`, the step kinds) are flat structs with optional fields:
//! serde then reports a wrong field precisely, and `compile` checks the combinations
//! with a JSON path, instead of an untagged enum's "did not match any variant".

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::located::duration::Dur;
use crate::protocol::HistoryMessage;

/// A scripted conversation (`recordings/*.json`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScenarioFile {
    /// Path of the JSON Schema, for editors: `../schema/scenario.schema.json`.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub(crate) schema: Option<String>,
    /// A one-line title, shown by `pawmock list` and on the index page.
    #[serde(default)]
    pub(crate) title: Option<String>,
    /// What the scenario is for (free text).
    #[serde(default)]
    pub(crate) description: Option<String>,
    /// Pace of the replies; every field is optional.
    #[serde(default)]
    pub(crate) timing: TimingSpec,
    /// Earlier messages of this conversation, served as the session `session_id`.
    #[serde(default)]
    pub(crate) history: Vec<HistoryMessage>,
    /// Session id that holds `history` (default `websocket_<scenario name>`).
    #[serde(default)]
    pub(crate) session_id: Option<String>,
    /// Steps played right after the handshake on connections pinned to this scenario
    /// (`?scenario=NAME`), with no chat message: inbox updates, pushes, markers. Same
    /// step syntax as a reply, except `plan` (a plan waits for a chat turn).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) on_connect: Vec<StepSpec>,
    /// The replies, tried in order: the first turn whose `when` matches plays.
    pub(crate) turns: Vec<TurnSpec>,
    /// Faults applied to every turn of this scenario (same form as a chaos profile's
    /// `faults`); `reject` and `refuse_first` apply when the URL pins the scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) chaos: Option<Vec<crate::chaos::format::FaultSpec>>,
}

/// One reply and the condition that selects it.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TurnSpec {
    /// `"any"` (the default), or one of `{"contains": "text" | ["a","b"]}`,
    /// `{"equals": "text"}`, `{"regex": "pattern"}`, `{"turn": N}` (the Nth message),
    /// or a list of these (any of them).
    #[serde(default)]
    #[schemars(with = "WhenSchema")]
    pub(crate) when: Option<Value>,
    /// Steps played in order.
    pub(crate) reply: Vec<StepSpec>,
}

/// Schema-only description of `when` (the loader reads it by hand for clear errors).
#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(untagged)]
enum WhenSchema {
    One(WhenOne),
    /// Matches when any of these rules matches.
    AnyOf(#[schemars(length(min = 1))] Vec<WhenOne>),
}

/// One `when` rule.
#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(untagged)]
enum WhenOne {
    /// Matches every message.
    Any(AnyKeyword),
    Rule(WhenRule),
}

#[derive(JsonSchema)]
#[allow(dead_code)]
enum AnyKeyword {
    #[serde(rename = "any")]
    Any,
}

#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
struct WhenRule {
    /// Matches when the message contains this text (or any of these), ignoring case.
    contains: Option<OneOrMany>,
    /// Matches when the whole message equals this text, ignoring case and outer spaces.
    equals: Option<String>,
    /// Matches when the message matches this regular expression.
    regex: Option<String>,
    /// Matches the Nth message (1-based) this connection sends to this scenario.
    turn: Option<u32>,
}

#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// One step of a reply. Exactly one of `say`, `think`, `tool`, `error`, `plan`, `inbox`,
/// `pause`, `marker` or `frame` names its kind; the other fields belong to that kind.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StepSpec {
    /// Answer text (markdown), streamed in chunks by the timing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) say: Option<String>,
    /// A thinking event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) think: Option<String>,
    /// A tool call: `tool_start`, a wait of `duration`, then `tool_result` with
    /// `result` (or a failed result with `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tool: Option<String>,
    /// Tool input (any JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) input: Option<Value>,
    /// Tool result (text or any JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) result: Option<Value>,
    /// With `tool`: the tool's failure text. Alone: the agent failing with this message
    /// (an `error` frame in the docs dialect; in the dashboard dialect as the real
    /// backend renders it, see `dashboard_error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// With `error`: how the dashboard dialect shows the failure, as the real backend
    /// does. `event` (default): the backend reported it, so a failed `agent`
    /// tool_result and the text as an answer chunk; the text streamed before is kept.
    /// `exception`: something raised, so one message "An error occurred: <error>"; no
    /// answer text of the turn is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) dashboard_error: Option<DashboardError>,
    /// How long a tool runs, or how long thinking lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) duration: Option<Dur>,
    /// A plan (markdown) that waits for the client's approve or reject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) plan: Option<String>,
    /// Steps played when the plan is approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) approve: Option<Vec<StepSpec>>,
    /// Steps played when the plan is rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reject: Option<Vec<StepSpec>>,
    /// Steps played when no answer comes within `wait`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) timeout: Option<Vec<StepSpec>>,
    /// How long a plan waits for an answer (default 5m; not scaled by speed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) wait: Option<Dur>,
    /// With `plan`: the branch the dashboard dialect plays at once (`approve`, the
    /// default, `reject` or `timeout`). The shipped dashboard has no plan UI, so a plan
    /// there never waits for an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) dashboard_plan: Option<DashboardPlan>,
    /// An inbox update pushed from another channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) inbox: Option<InboxSpec>,
    /// Silence for this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pause: Option<Dur>,
    /// A named point in the turn (not sent): chaos triggers (`after_marker`), the journal,
    /// and `?freeze=NAME`, which holds the turn here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) marker: Option<String>,
    /// Any raw JSON frame, sent as is in every dialect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) frame: Option<Value>,
    /// Extra wait before this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) delay: Option<Dur>,
}

/// How the dashboard dialect shows an `error` step (addendum C.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DashboardError {
    /// The backend yielded an error event: a failed `agent` tool_result, then the text
    /// as an answer chunk.
    #[default]
    Event,
    /// An exception escaped the agent loop: one message "An error occurred: <error>".
    Exception,
}

/// The branch a plan plays in the dashboard dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DashboardPlan {
    #[default]
    Approve,
    Reject,
    Timeout,
}

/// An `inbox_update`: a message that arrived on another channel.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InboxSpec {
    /// The channel, e.g. `telegram`, `slack`.
    pub(crate) channel: String,
    /// The notification text.
    pub(crate) message: String,
    /// Session id of that channel's conversation (default `<channel>_inbox`).
    #[serde(default)]
    pub(crate) session_id: Option<String>,
}

/// Pace of a scenario. Every field is optional; the defaults are in the README.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimingSpec {
    /// Time from the start of the turn to its first event (default 600ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_token: Option<Dur>,
    /// Unit a `say` is cut into: `char`, `word` (default), `token` (about 4 characters)
    /// or `sentence`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk: Option<ChunkUnit>,
    /// Units per chunk (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_size: Option<u32>,
    /// Time between chunks (default 40ms). Give this or `chunks_per_second`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_delay: Option<Dur>,
    /// Chunks per second, instead of `chunk_delay`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunks_per_second: Option<f64>,
    /// Random variation of each chunk gap, as a fraction 0–1 (default 0.25: ±25%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<f64>,
    /// Default length of a `think` step (default 400ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think: Option<Dur>,
    /// Default run time of a `tool` step (default 1s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_duration: Option<Dur>,
    /// Longest silence replayed from a recording (default 2s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_gap: Option<Dur>,
    /// Pace multiplier: 2 plays twice as fast, 0 without any delay (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
}

/// How a `say` text is cut into chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChunkUnit {
    Char,
    #[default]
    Word,
    Token,
    Sentence,
}

/// Line 1 of a recording (`recordings/*.jsonl`). Every other line is
/// `[delay_since_previous_s, "in" | "out" | "marker", payload]`; `#` lines are comments.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordingHeader {
    /// Format version: 1.
    pub(crate) version: u32,
    /// A one-line title.
    #[serde(default)]
    pub(crate) title: Option<String>,
    /// What the recording shows.
    #[serde(default)]
    pub(crate) description: Option<String>,
    /// Dialect the frames were captured in: `docs` or `dashboard` (informational:
    /// frames of either are read), or `raw` for a protocol that is not PocketPaw's,
    /// replayed frame for frame. Without it, a recording whose client frames are not
    /// PocketPaw actions (or that holds non-JSON or binary frames) is `raw`.
    #[serde(default)]
    pub(crate) dialect: Option<RecordedDialect>,
    /// `raw` recordings: how a client frame is compared with the recorded ones. Exact
    /// by default (JSON frames as JSON, so spacing and key order do not matter).
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub(crate) matching: Option<MatchSpec>,
    /// Which user messages select this recording when no scenario is pinned
    /// (same forms as a scenario turn's `when`; only its text rules select). Without it,
    /// only `?scenario=` or the recording's name selects it.
    #[serde(default)]
    #[schemars(with = "Option<WhenSchema>")]
    pub(crate) when: Option<Value>,
    /// Timing; only `max_gap` and `speed` apply to recorded delays.
    #[serde(default)]
    pub(crate) timing: TimingSpec,
    /// When it was recorded (free text, ISO 8601 by convention).
    #[serde(default)]
    pub(crate) recorded_at: Option<String>,
    /// Anything else worth keeping (client, backend, model…).
    #[serde(default)]
    pub(crate) meta: BTreeMap<String, Value>,
}

/// The protocol a recording was captured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RecordedDialect {
    Docs,
    Dashboard,
    /// Not PocketPaw: frames are replayed verbatim.
    Raw,
}

/// How a `raw` recording compares a client frame with a recorded client frame.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MatchSpec {
    /// JSONPaths (RFC 9535) of the parts that may differ, such as ids and timestamps:
    /// `["$.id", "$..timestamp"]`. They are left out of the comparison.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) ignore: Vec<String>,
    /// Regular expressions whose matches may differ: they are blanked out of both
    /// frames' text before comparing, e.g. `["\\d{13}"]` for millisecond timestamps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) ignore_regex: Vec<String>,
    /// Compare only the parts these JSONPaths select (for instance `["$.type"]`: any
    /// frame of the recorded type matches).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) only: Vec<String>,
}
