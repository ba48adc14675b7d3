//! A stand-in for the rest of the PocketPaw backend: the dashboard's legacy WebSocket
//! actions (settings, tools, reminders, intentions, skills, health, the file browser),
//! answered the way the real backend answers them, from canned data.
//!
//! [`answer`] is a short match that hands each action to the file of its family, one
//! small unit per family in the style of mini-redis's `cmd/`. Replies are dashboard
//! frames whatever the connection's dialect: only the dashboard sends these actions.
//!
//! The canned data ([`data`]) belongs to the library snapshot, so it reloads with the
//! other files; what the user changes during the run ([`state`]) lives in the `App`.

mod caps;
pub(crate) mod data;
pub(crate) mod files;
pub(crate) mod health;
pub(crate) mod intention_run;
pub(crate) mod intentions;
pub(crate) mod panel_data;
pub(crate) mod panels;
pub(crate) mod reminders;
pub(crate) mod settings;
pub(crate) mod skills;
pub(crate) mod state;
pub(crate) mod tools;

use std::time::SystemTime;

use serde_json::{Map, Value, json};

pub(crate) use data::BackendData;
pub(crate) use state::RunState;

/// What a reply may read and change.
pub(crate) struct Ctx<'a> {
    /// The canned data of the current library snapshot.
    pub(crate) data: &'a BackendData,
    /// The run's changes on top of it.
    pub(crate) state: &'a RunState,
    /// What the REST panels changed (skills installed from the library, …).
    pub(crate) panels: &'a panels::PanelState,
    /// The time the action arrived (a parameter, so replies are testable).
    pub(crate) now: SystemTime,
}

/// The frames that answer the legacy action `name` (the whole client frame is
/// `frame`), in the order they are sent. Empty means no reply, which is what the real
/// backend gives in several cases (a `run_skill` of an unknown skill, for one).
pub(crate) fn answer(ctx: &Ctx, name: &str, frame: &Map<String, Value>) -> Vec<Value> {
    if let Some(refused) = caps::refuse(ctx, name, frame) {
        return vec![refused];
    }
    match name {
        "tool" => tools::tool(ctx, frame),
        "toggle_agent" => settings::toggle_agent(frame),
        "get_settings" => settings::get(ctx),
        "settings" => settings::save(ctx, frame),
        "save_api_key" => settings::save_api_key(ctx, frame),
        "get_reminders" => reminders::list(ctx),
        "add_reminder" => reminders::add(ctx, frame),
        "delete_reminder" => reminders::delete(ctx, frame),
        "get_intentions" => intentions::list(ctx),
        "create_intention" => intentions::create(ctx, frame),
        "update_intention" => intentions::update(ctx, frame),
        "toggle_intention" => intentions::toggle(ctx, frame),
        "delete_intention" => intentions::delete(ctx, frame),
        "run_intention" => intentions::run(ctx, frame),
        "get_skills" => skills::list(ctx),
        "run_skill" => skills::run(ctx, frame),
        "get_health" => health::get(ctx),
        "run_health_check" => health::run_check(ctx),
        "get_health_errors" => health::errors_frame(ctx, frame),
        "browse" => files::browse(ctx, frame),
        "navigate" => files::navigate(ctx, frame),
        // The decoder only lets known names through; should the two lists ever
        // disagree, staying silent is what the real backend does with an unknown action.
        _ => Vec::new(),
    }
}

/// `{"type":"error","content":…}`: how the real backend reports a failed legacy action.
pub(crate) fn error(content: impl Into<String>) -> Value {
    json!({"type": "error", "content": content.into()})
}

/// A complete (not streamed) `message` frame, as the legacy replies send them.
pub(crate) fn message(content: impl Into<String>) -> Value {
    json!({"type": "message", "content": content.into()})
}

/// A toast.
pub(crate) fn notification(content: impl Into<String>) -> Value {
    json!({"type": "notification", "content": content.into()})
}

/// A string field of the client frame.
fn text<'a>(frame: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    frame.get(key).and_then(Value::as_str)
}

/// A field as Python's `str()` would print it in an error message (`None` when absent).
fn shown(frame: &Map<String, Value>, key: &str) -> String {
    match frame.get(key) {
        None | Some(Value::Null) => "None".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A short random id, like the real backend's reminder and intention ids.
fn short_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}
