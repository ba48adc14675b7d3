//! The canned data of the dashboard's panels beyond chat (webhooks, the MCP catalog,
//! the skills library, the audits, Mission Control, the tunnel): the `backend.json`
//! sections, their checks, and the full shapes the real backend answers with.
//!
//! Authors write the few fields that matter (an agent's name and role); every other
//! field of the real object is filled in here, so the dashboard always reads the shape
//! it expects.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::located::problem::JsonPath;

/// An inbound webhook (`GET /api/webhooks`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookSpec {
    /// Name without spaces; the URL is `http://<host>/webhook/inbound/<name>`.
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) description: String,
    /// The signing secret; the list shows only its last four characters.
    pub(crate) secret: String,
    /// Seconds a synchronous webhook call waits for the agent (default 30).
    #[serde(default = "thirty")]
    pub(crate) sync_timeout: u32,
}

fn thirty() -> u32 {
    30
}

/// One entry of the skills library search (`GET /api/skills/search`), in the shape
/// skills.sh answers with.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LibrarySkillSpec {
    /// `owner/repo/skill`: the dashboard sends it back as the install `source`.
    pub(crate) id: String,
    pub(crate) name: String,
    /// The repository it comes from, `owner/repo`.
    pub(crate) source: String,
    /// How many installs it has.
    #[serde(default)]
    pub(crate) installs: u64,
}

/// One check of the security audit (`POST /api/security-audit`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditCheckSpec {
    pub(crate) check: String,
    pub(crate) passed: bool,
    pub(crate) message: String,
    #[serde(default)]
    pub(crate) fixable: bool,
}

/// A stored self-audit report (`GET /api/self-audit/reports`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SelfAuditReportSpec {
    /// The day it ran, `YYYY-MM-DD` (its id in `/api/self-audit/reports/{date}`).
    pub(crate) date: String,
    /// Its checks; totals are counted from them.
    pub(crate) results: Vec<AuditCheckSpec>,
}

/// Mission Control's canned lists. Each item is an object with at least `id` and
/// `name` (agents), `title` (tasks, projects) or `message` (activities); every other
/// field of the real backend's object is filled in with its default.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MissionControlSpec {
    /// Agents: `id`, `name`, and any of `role`, `description`, `status`
    /// (`idle|active|blocked|offline`), `specialties`, `backend`, `level`.
    #[serde(default)]
    pub(crate) agents: Vec<Map<String, Value>>,
    /// Tasks: `id`, `title`, and any of `description`, `status`
    /// (`inbox|assigned|in_progress|review|done|blocked|skipped`), `priority`
    /// (`low|medium|high|urgent`), `assignee_ids`, `tags`, `project_id`.
    #[serde(default)]
    pub(crate) tasks: Vec<Map<String, Value>>,
    /// Activity feed entries: `id`, `message`, and any of `type`, `agent_id`, `task_id`.
    #[serde(default)]
    pub(crate) activities: Vec<Map<String, Value>>,
    /// Deep Work projects: `id`, `title`, and any of `description`, `status`.
    #[serde(default)]
    pub(crate) projects: Vec<Map<String, Value>>,
}

/// The kinds of Mission Control object, with the field each must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum McKind {
    Agent,
    Task,
    Activity,
    Project,
}

impl McKind {
    pub(crate) fn required(self) -> &'static str {
        match self {
            McKind::Agent => "name",
            McKind::Task | McKind::Project => "title",
            McKind::Activity => "message",
        }
    }

    fn section(self) -> &'static str {
        match self {
            McKind::Agent => "agents",
            McKind::Task => "tasks",
            McKind::Activity => "activities",
            McKind::Project => "projects",
        }
    }

    /// The real backend's object of this kind with every field at its default.
    fn defaults(self, now: &str) -> Value {
        match self {
            McKind::Agent => json!({
                "id": "", "name": "", "role": "", "description": "", "session_key": null,
                "backend": "claude_agent_sdk", "status": "idle", "level": "specialist",
                "current_task_id": null, "specialties": [], "last_heartbeat": null,
                "created_at": now, "updated_at": now, "metadata": {},
            }),
            McKind::Task => json!({
                "id": "", "title": "", "description": "", "status": "inbox",
                "priority": "medium", "assignee_ids": [], "creator_id": null,
                "parent_task_id": null, "blocked_by": [], "tags": [], "due_date": null,
                "started_at": null, "completed_at": null, "created_at": now,
                "updated_at": now, "metadata": {}, "project_id": null, "task_type": "agent",
                "blocks": [], "active_description": null, "estimated_minutes": null,
            }),
            McKind::Activity => json!({
                "id": "", "type": "task_created", "agent_id": null, "message": "",
                "task_id": null, "document_id": null, "created_at": now, "metadata": {},
            }),
            McKind::Project => json!({
                "id": "", "title": "", "description": "", "status": "draft",
                "planner_agent_id": null, "team_agent_ids": [], "task_ids": [],
                "prd_document_id": null, "creator_id": null, "tags": [], "started_at": null,
                "completed_at": null, "created_at": now, "updated_at": now, "metadata": {},
                "folder_path": null, "file_count": 0,
            }),
        }
    }
}

/// `fields` over the full default object of `kind`.
pub(crate) fn full(kind: McKind, fields: &Map<String, Value>, now: &str) -> Value {
    let mut v = kind.defaults(now);
    if let Value::Object(map) = &mut v {
        for (k, val) in fields {
            map.insert(k.clone(), val.clone());
        }
    }
    v
}

/// Mission Control's lists, checked and filled out.
#[derive(Debug, Clone, Default)]
pub(crate) struct MissionControl {
    pub(crate) agents: Vec<Value>,
    pub(crate) tasks: Vec<Value>,
    pub(crate) activities: Vec<Value>,
    pub(crate) projects: Vec<Value>,
}

impl MissionControl {
    pub(crate) fn list(&self, kind: McKind) -> &Vec<Value> {
        match kind {
            McKind::Agent => &self.agents,
            McKind::Task => &self.tasks,
            McKind::Activity => &self.activities,
            McKind::Project => &self.projects,
        }
    }

    pub(crate) fn list_mut(&mut self, kind: McKind) -> &mut Vec<Value> {
        match kind {
            McKind::Agent => &mut self.agents,
            McKind::Task => &mut self.tasks,
            McKind::Activity => &mut self.activities,
            McKind::Project => &mut self.projects,
        }
    }
}

/// Checks every item (an `id` and its kind's required field, both strings; ids unique
/// per list) and fills in the rest.
pub(crate) fn compile_mission_control(
    spec: MissionControlSpec,
    path: &JsonPath,
    now: &str,
    problem: &mut impl FnMut(JsonPath, String, &str),
) -> MissionControl {
    let mut mc = MissionControl::default();
    let lists = [
        (McKind::Agent, spec.agents),
        (McKind::Task, spec.tasks),
        (McKind::Activity, spec.activities),
        (McKind::Project, spec.projects),
    ];
    for (kind, items) in lists {
        let mut seen = std::collections::HashSet::new();
        for (i, item) in items.iter().enumerate() {
            let here = path.key(kind.section()).index(i);
            for key in ["id", kind.required()] {
                if !item.get(key).is_some_and(Value::is_string) {
                    problem(
                        here.key(key),
                        format!(
                            "a Mission Control {} needs a string `{key}`",
                            kind.section()
                        ),
                        "write e.g. {\"id\": \"agent-1\", \"name\": \"Scout\"}",
                    );
                }
            }
            if let Some(id) = item.get("id").and_then(Value::as_str)
                && !seen.insert(id.to_owned())
            {
                problem(
                    here.key("id"),
                    format!("id `{id}` is used twice in `{}`", kind.section()),
                    "give every item its own id",
                );
            }
            mc.list_mut(kind).push(full(kind, item, now));
        }
    }
    mc
}

/// The stats block of `GET /api/mission-control/stats`, counted from the lists.
pub(crate) fn stats(mc: &MissionControl) -> Value {
    let by_status = |items: &[Value], statuses: &[&str]| {
        let mut m = Map::new();
        for s in statuses {
            m.insert((*s).to_owned(), Value::from(0));
        }
        for item in items {
            if let Some(s) = item.get("status").and_then(Value::as_str) {
                let n = m.get(s).and_then(Value::as_u64).unwrap_or(0);
                m.insert(s.to_owned(), Value::from(n + 1));
            }
        }
        Value::Object(m)
    };
    json!({
        "agents": {"total": mc.agents.len(), "by_status": by_status(&mc.agents, &["idle", "active", "blocked", "offline"])},
        "tasks": {"total": mc.tasks.len(), "by_status": by_status(&mc.tasks, &["inbox", "assigned", "in_progress", "review", "done", "blocked", "skipped"])},
        "messages": {"total": 0},
        "activities": {"total": mc.activities.len()},
        "documents": {"total": 0},
        "notifications": {"total": 0, "undelivered": 0, "unread": 0},
        "projects": {"total": mc.projects.len(), "by_status": by_status(&mc.projects, &["draft", "planning", "awaiting_approval", "approved", "executing", "paused", "completed", "failed"])},
    })
}

/// A security or self-audit summary counted from its checks.
pub(crate) fn audit_summary(results: &[AuditCheckSpec]) -> (usize, usize, usize) {
    let passed = results.iter().filter(|r| r.passed).count();
    (results.len(), passed, results.len() - passed)
}
