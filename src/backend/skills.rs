//! `get_skills` and `run_skill`.
//!
//! The real backend's `run_skill` means to send a toast, `stream_start`,
//! `skill_started`, the skill's output, `skill_completed` and `stream_end`, but a
//! serialisation bug closes the socket after `skill_started`. pawmock plays the
//! intended sequence, with the skill's canned `output` as the streamed answer, so the
//! dashboard's skill flow can be worked on.

use serde_json::{Map, Value, json};

use super::data::SkillSpec;
use super::{Ctx, notification, text};
use crate::timestamp::iso8601;

pub(crate) fn list(ctx: &Ctx) -> Vec<Value> {
    vec![json!({"type": "skills", "skills": summaries(&installed(ctx))})]
}

/// The installed skills: the canned ones less those removed in the skills modal, then
/// those installed from its library (`POST /api/skills/install|remove`).
pub(crate) fn installed(ctx: &Ctx) -> Vec<SkillSpec> {
    let panels = ctx.panels.lock();
    ctx.data
        .skills
        .iter()
        .filter(|s| !panels.skills_removed.contains(&s.name))
        .cloned()
        .chain(
            panels
                .skills_installed
                .iter()
                .filter(|name| !ctx.data.skills.iter().any(|s| s.name == **name))
                .map(|name| SkillSpec {
                    name: name.clone(),
                    description: "Installed from the skills library".to_owned(),
                    argument_hint: String::new(),
                    output: None,
                }),
        )
        .collect()
}

/// `{name, description, argument_hint}` of each skill (also `GET /api/skills`).
pub(crate) fn summaries(skills: &[SkillSpec]) -> Vec<Value> {
    skills
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "description": s.description,
                "argument_hint": s.argument_hint,
            })
        })
        .collect()
}

/// An unknown skill gets no reply at all: the real backend means to pass it on as a
/// chat message, but that path never runs.
pub(crate) fn run(ctx: &Ctx, frame: &Map<String, Value>) -> Vec<Value> {
    let name = text(frame, "name").unwrap_or("");
    let Some(skill) = installed(ctx).into_iter().find(|s| s.name == name) else {
        return Vec::new();
    };
    let args = frame.get("args").cloned().unwrap_or_else(|| json!(""));
    let shown_args = args
        .as_str()
        .map_or_else(|| args.to_string(), str::to_owned);
    let output = skill.output.clone().unwrap_or_else(|| {
        if shown_args.trim().is_empty() {
            format!("Ran the **{name}** skill.")
        } else {
            format!("Ran the **{name}** skill with `{shown_args}`.")
        }
    });
    let at = iso8601(ctx.now);
    vec![
        notification(format!("🎯 Running skill: {name}")),
        json!({"type": "stream_start"}),
        json!({"type": "skill_started", "skill_name": name, "args": args, "timestamp": at}),
        json!({"type": "message", "content": output, "is_stream_chunk": true, "metadata": {}}),
        json!({"type": "skill_completed", "skill_name": name, "timestamp": at}),
        json!({"type": "stream_end"}),
    ]
}
