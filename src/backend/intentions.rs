//! Intentions, the agent's scheduled prompts: list, create, update, toggle, delete, run.
//!
//! Running one only says so: the real backend's run frames have no handler in the
//! dashboard, which shows nothing for a run beyond the toast.

use serde_json::{Map, Value, json};

use super::data::Intention;
use super::{Ctx, error, notification, short_id, text};
use crate::timestamp::iso8601;

pub(crate) fn list(ctx: &Ctx) -> Vec<Value> {
    let all: Vec<Value> = ctx.state.intentions(ctx.data).iter().map(to_json).collect();
    vec![json!({"type": "intentions", "intentions": all})]
}

pub(crate) fn create(ctx: &Ctx, frame: &Map<String, Value>) -> Vec<Value> {
    let name = text(frame, "name").map(str::trim).unwrap_or("");
    if name.is_empty() {
        return vec![error("Failed to create intention: a name is required")];
    }
    let Some(prompt) = text(frame, "prompt") else {
        return vec![error("Failed to create intention: a prompt is required")];
    };
    let trigger = match frame.get("trigger") {
        Some(t @ Value::Object(_)) => t.clone(),
        _ => {
            return vec![error(
                "Failed to create intention: a trigger such as {\"type\": \"cron\", \"schedule\": \"0 9 * * *\"} is required",
            )];
        }
    };
    let intention = Intention {
        id: short_id(),
        name: name.to_owned(),
        prompt: prompt.to_owned(),
        trigger,
        context_sources: frame
            .get("context_sources")
            .cloned()
            .unwrap_or_else(|| json!([])),
        enabled: frame
            .get("enabled")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        created_at: ctx.now,
        last_run: None,
        next_run: None,
    };
    let reply = json!({"type": "intention_created", "intention": to_json(&intention)});
    ctx.state.add_intention(intention);
    vec![reply]
}

/// `updates` may change `name`, `prompt`, `trigger`, `context_sources` and `enabled`;
/// other keys are ignored.
pub(crate) fn update(ctx: &Ctx, frame: &Map<String, Value>) -> Vec<Value> {
    let empty = Map::new();
    let updates = frame
        .get("updates")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let changed = ctx.state.change_intention(ctx.data, id(frame), |i| {
        for (key, value) in updates {
            match (key.as_str(), value) {
                ("name", Value::String(s)) => i.name = s.clone(),
                ("prompt", Value::String(s)) => i.prompt = s.clone(),
                ("trigger", t @ Value::Object(_)) => i.trigger = t.clone(),
                ("context_sources", v) => i.context_sources = v.clone(),
                ("enabled", Value::Bool(b)) => i.enabled = *b,
                _ => {}
            }
        }
    });
    match changed {
        Some(i) => vec![json!({"type": "intention_updated", "intention": to_json(&i)})],
        None => vec![error("Intention not found")],
    }
}

pub(crate) fn toggle(ctx: &Ctx, frame: &Map<String, Value>) -> Vec<Value> {
    match ctx
        .state
        .change_intention(ctx.data, id(frame), |i| i.enabled = !i.enabled)
    {
        Some(i) => vec![json!({"type": "intention_toggled", "intention": to_json(&i)})],
        None => vec![error("Intention not found")],
    }
}

pub(crate) fn delete(ctx: &Ctx, frame: &Map<String, Value>) -> Vec<Value> {
    let id = id(frame);
    if ctx.state.delete_intention(ctx.data, id) {
        vec![json!({"type": "intention_deleted", "id": id})]
    } else {
        vec![error("Intention not found")]
    }
}

pub(crate) fn run(ctx: &Ctx, frame: &Map<String, Value>) -> Vec<Value> {
    let now = ctx.now;
    match ctx
        .state
        .change_intention(ctx.data, id(frame), |i| i.last_run = Some(now))
    {
        Some(i) => vec![notification(format!("🚀 Running intention: {}", i.name))],
        None => vec![error("Intention not found")],
    }
}

fn id(frame: &Map<String, Value>) -> &str {
    text(frame, "id").unwrap_or("")
}

/// An intention as the dashboard reads it.
pub(crate) fn to_json(i: &Intention) -> Value {
    json!({
        "id": i.id,
        "name": i.name,
        "prompt": i.prompt,
        "trigger": i.trigger,
        "context_sources": i.context_sources,
        "enabled": i.enabled,
        "created_at": iso8601(i.created_at),
        "last_run": i.last_run.map(iso8601),
        "next_run": i.next_run,
    })
}
