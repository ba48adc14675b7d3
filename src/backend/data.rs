//! The canned backend data: the file format of `recordings/backend.json`, its
//! validation, and [`BackendData`], the checked snapshot the replies read.
//!
//! Every top-level section is optional: a file that gives only `status` keeps the
//! built-in reminders, skills and so on. The built-in values are the bundled
//! `recordings/backend.json` itself, compiled into the binary, so the file users copy
//! and the defaults they fall back to can never disagree. `settings` is merged key by
//! key (a file may change one setting); every other section replaces the built-in one.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tracing::error;

use crate::located::duration::Dur;
use crate::located::problem::{JsonPath, Problem};
use crate::located::source::Source;

pub(crate) use super::panel_data::{
    AuditCheckSpec, LibrarySkillSpec, MissionControl, MissionControlSpec, SelfAuditReportSpec,
    WebhookSpec,
};

/// The bundled file, which is also the built-in default of every section.
const BUILTIN: &str = include_str!("../../recordings/backend.json");

/// Canned data for the PocketPaw dashboard's REST calls and legacy WebSocket actions
/// (`recordings/backend.json`). Every section is optional; a missing one keeps the
/// built-in value.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BackendFile {
    /// Path of the JSON Schema, for editors: `../schema/backend.schema.json`.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub(crate) schema: Option<String>,
    /// The machine shown in the sidebar widgets (reply to `{"action":"tool","tool":"status"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<StatusSpec>,
    /// The `settings` frame's `content` (camelCase keys, as the real backend sends them).
    /// Merged key by key over the built-in settings. Keep a `has…Key` flag true (or
    /// `llmProvider: "ollama"`) or the dashboard opens its welcome wizard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) settings: Option<Map<String, Value>>,
    /// Reminders listed by `get_reminders` (those added while pawmock runs come after).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reminders: Option<Vec<ReminderSpec>>,
    /// Intentions (scheduled prompts) listed by `get_intentions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) intentions: Option<Vec<IntentionSpec>>,
    /// Installed skills (`get_skills`, `GET /api/skills`, and `/name` in the chat box).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) skills: Option<Vec<SkillSpec>>,
    /// The health summary (`get_health`, `GET /api/health`) and its error log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) health: Option<HealthSpec>,
    /// A made-up home directory for the file browser (`browse`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) home: Option<HomeSpec>,
    /// The screenshot tool's image: a base64-encoded PNG.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) screenshot: Option<String>,
    /// `GET /api/channels/status`: channel name → its state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) channels: Option<BTreeMap<String, ChannelSpec>>,
    /// `GET /api/backends`: the agent backends offered in settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) backends: Option<Vec<AgentBackendSpec>>,
    /// `GET /api/identity`: the texts of the agent's identity files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) identity: Option<IdentitySpec>,
    /// `GET /api/version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<VersionSpec>,
    /// `GET /api/memory/long_term`: long-term memories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) memory: Option<Vec<MemorySpec>>,
    /// `GET /api/audit`: the audit log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) audit: Option<Vec<AuditSpec>>,
    /// `GET /api/mcp/status`, sent as is (any JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) mcp_status: Option<Value>,
    /// `GET /api/remote/status`, sent as is (any JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) remote_status: Option<Value>,
    /// The URL `POST /api/remote/start` reports for the started tunnel
    /// (default `https://pawmock-demo.trycloudflare.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tunnel_url: Option<String>,
    /// Inbound webhooks (`GET /api/webhooks`; add, remove and regenerate change them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) webhooks: Option<Vec<WebhookSpec>>,
    /// The MCP catalog (`GET /api/mcp/presets`): objects with at least `id` and `name`;
    /// the other fields of a preset default as the README lists them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) mcp_presets: Option<Vec<Map<String, Value>>>,
    /// What the skills library search finds (`GET /api/skills/search?q=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) skills_library: Option<Vec<LibrarySkillSpec>>,
    /// The checks of the security audit (`POST /api/security-audit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) security_audit: Option<Vec<AuditCheckSpec>>,
    /// Stored self-audit reports, newest first (`GET /api/self-audit/reports`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) self_audit_reports: Option<Vec<SelfAuditReportSpec>>,
    /// Mission Control's agents, tasks, activity feed and projects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) mission_control: Option<MissionControlSpec>,
}

/// The numbers behind the status text. The dashboard reads CPU, RAM, disk and battery
/// out of that text with regular expressions, so pawmock writes the text itself.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusSpec {
    /// Operating system line, e.g. `Linux (x86_64)`.
    pub(crate) os: String,
    /// CPU load, 0–100.
    pub(crate) cpu_percent: f64,
    pub(crate) cpu_cores: u32,
    pub(crate) ram_used_gb: f64,
    pub(crate) ram_total_gb: f64,
    pub(crate) disk_used_gb: f64,
    pub(crate) disk_total_gb: f64,
    /// Battery charge, 0–100; leave it out for a machine without a battery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) battery_percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) battery_charging: Option<bool>,
    /// Uptime as shown, e.g. `3:12:45`.
    pub(crate) uptime: String,
}

/// A reminder that exists when pawmock starts.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReminderSpec {
    /// Id used by `delete_reminder` (default `reminder-N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<String>,
    /// What to be reminded of.
    pub(crate) text: String,
    /// The message the reminder was made from (default: the text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) original: Option<String>,
    /// When it goes off, counted from when pawmock loaded this file: `"45m"`, `"2h"`.
    #[serde(rename = "in")]
    pub(crate) due_in: Dur,
    /// `recurring` for a repeating reminder (sent as the reminder's `type`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub(crate) kind: Option<String>,
    /// Cron schedule of a recurring reminder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) schedule: Option<String>,
}

/// An intention (a prompt the agent runs on a schedule).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IntentionSpec {
    /// Id used by the toggle, run and delete actions (default `intention-N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<String>,
    pub(crate) name: String,
    pub(crate) prompt: String,
    /// Cron schedule, sent as `trigger: {"type": "cron", "schedule": …}`.
    pub(crate) schedule: String,
    /// Where the agent looks for context, e.g. `["calendar", "email"]`.
    #[serde(default)]
    pub(crate) context_sources: Vec<String>,
    #[serde(default = "yes")]
    pub(crate) enabled: bool,
    /// Shown as the next run (free text, ISO 8601 by convention); absent is `null`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) next_run: Option<String>,
}

fn yes() -> bool {
    true
}

/// An installed skill.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SkillSpec {
    /// Name without spaces; typing `/name` in the chat runs it.
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) description: String,
    /// Shown after the name in the skill list, e.g. `<url or path>`.
    #[serde(default)]
    pub(crate) argument_hint: String,
    /// Markdown streamed as the skill's answer by `run_skill` (default: a line naming
    /// the skill and its arguments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) output: Option<String>,
}

/// The health engine's summary.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HealthSpec {
    /// Drives the sidebar's health dot.
    pub(crate) status: HealthStatus,
    /// How many checks the engine runs.
    #[serde(default)]
    pub(crate) check_count: u32,
    /// Failing checks, sent as they are written here.
    #[serde(default)]
    pub(crate) issues: Vec<Value>,
    /// The error log (`GET /api/health/errors`, `get_health_errors`), newest first.
    #[serde(default)]
    pub(crate) errors: Vec<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum HealthStatus {
    Healthy,
    Degraded,
    Unhealthy,
    Unknown,
}

/// The made-up home directory the file browser shows.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HomeSpec {
    /// Absolute path of the home directory, e.g. `/home/paw`.
    pub(crate) path: String,
    /// Name → a folder (an object of the same shape) or a file (its size in bytes).
    /// Names starting with `.` are hidden, as in the real backend.
    #[schemars(with = "BTreeMap<String, FileTreeSchema>")]
    pub(crate) files: Map<String, Value>,
}

/// Schema-only shape of a file tree node (the loader reads it by hand for clear errors).
#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(untagged)]
enum FileTreeSchema {
    /// A file: its size in bytes.
    File(u64),
    /// A folder: name → file or folder.
    Folder(BTreeMap<String, FileTreeSchema>),
}

/// One channel in `GET /api/channels/status`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChannelSpec {
    #[serde(default)]
    pub(crate) configured: bool,
    #[serde(default)]
    pub(crate) running: bool,
    #[serde(default)]
    pub(crate) autostart: bool,
    /// WhatsApp only: `personal` or `business`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) mode: Option<String>,
}

/// One entry of `GET /api/backends` (field names as the dashboard reads them).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct AgentBackendSpec {
    pub(crate) name: String,
    pub(crate) display_name: String,
    #[serde(default)]
    pub(crate) available: bool,
    #[serde(default)]
    pub(crate) capabilities: Vec<String>,
    #[serde(default)]
    pub(crate) builtin_tools: Vec<String>,
    #[serde(default)]
    pub(crate) required_keys: Vec<String>,
    #[serde(default)]
    pub(crate) supported_providers: Vec<String>,
    #[serde(default)]
    pub(crate) install_hint: Map<String, Value>,
    #[serde(default)]
    pub(crate) beta: bool,
}

/// `GET /api/identity`: each field is the text of one identity file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IdentitySpec {
    #[serde(default)]
    pub(crate) identity_file: String,
    #[serde(default)]
    pub(crate) soul_file: String,
    #[serde(default)]
    pub(crate) style_file: String,
    #[serde(default)]
    pub(crate) instructions_file: String,
    #[serde(default)]
    pub(crate) user_file: String,
}

/// `GET /api/version`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VersionSpec {
    pub(crate) current: String,
    pub(crate) latest: String,
    #[serde(default)]
    pub(crate) update_available: bool,
}

/// One long-term memory.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemorySpec {
    pub(crate) id: String,
    pub(crate) content: String,
    /// ISO 8601.
    pub(crate) timestamp: String,
    #[serde(default)]
    pub(crate) tags: Vec<String>,
}

/// One audit log entry.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditSpec {
    pub(crate) id: String,
    /// ISO 8601.
    pub(crate) timestamp: String,
    /// `info`, `warning`, `critical`, …
    pub(crate) severity: String,
    pub(crate) actor: String,
    pub(crate) action: String,
    pub(crate) target: String,
    pub(crate) status: String,
    #[serde(default)]
    pub(crate) context: Value,
}

impl BackendFile {
    /// This file's sections over `base`'s: settings key by key, the rest whole.
    pub(crate) fn over(self, base: &BackendFile) -> BackendFile {
        let settings = match (self.settings, &base.settings) {
            (Some(mine), Some(theirs)) => {
                let mut merged = theirs.clone();
                merged.extend(mine);
                Some(merged)
            }
            (mine, theirs) => mine.or_else(|| theirs.clone()),
        };
        BackendFile {
            schema: self.schema,
            status: self.status.or_else(|| base.status.clone()),
            settings,
            reminders: self.reminders.or_else(|| base.reminders.clone()),
            intentions: self.intentions.or_else(|| base.intentions.clone()),
            skills: self.skills.or_else(|| base.skills.clone()),
            health: self.health.or_else(|| base.health.clone()),
            home: self.home.or_else(|| base.home.clone()),
            screenshot: self.screenshot.or_else(|| base.screenshot.clone()),
            channels: self.channels.or_else(|| base.channels.clone()),
            backends: self.backends.or_else(|| base.backends.clone()),
            identity: self.identity.or_else(|| base.identity.clone()),
            version: self.version.or_else(|| base.version.clone()),
            memory: self.memory.or_else(|| base.memory.clone()),
            audit: self.audit.or_else(|| base.audit.clone()),
            mcp_status: self.mcp_status.or_else(|| base.mcp_status.clone()),
            remote_status: self.remote_status.or_else(|| base.remote_status.clone()),
            tunnel_url: self.tunnel_url.or_else(|| base.tunnel_url.clone()),
            webhooks: self.webhooks.or_else(|| base.webhooks.clone()),
            mcp_presets: self.mcp_presets.or_else(|| base.mcp_presets.clone()),
            skills_library: self.skills_library.or_else(|| base.skills_library.clone()),
            security_audit: self.security_audit.or_else(|| base.security_audit.clone()),
            self_audit_reports: self
                .self_audit_reports
                .or_else(|| base.self_audit_reports.clone()),
            mission_control: self
                .mission_control
                .or_else(|| base.mission_control.clone()),
        }
    }
}

/// A reminder as the replies list it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reminder {
    pub(crate) id: String,
    pub(crate) text: String,
    pub(crate) original: String,
    pub(crate) trigger_at: SystemTime,
    pub(crate) created_at: SystemTime,
    pub(crate) kind: Option<String>,
    pub(crate) schedule: Option<String>,
}

/// An intention as the replies list it. `trigger` and `context_sources` stay JSON:
/// the dashboard sends them back in whatever shape it likes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Intention {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) prompt: String,
    pub(crate) trigger: Value,
    pub(crate) context_sources: Value,
    pub(crate) enabled: bool,
    pub(crate) created_at: SystemTime,
    pub(crate) last_run: Option<SystemTime>,
    pub(crate) next_run: Option<String>,
}

/// A node of the made-up home directory.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FileNode {
    File { size: u64 },
    Folder(BTreeMap<String, FileNode>),
}

/// The checked canned data of one library snapshot.
#[derive(Debug, Clone)]
pub struct BackendData {
    pub(crate) status: Option<StatusSpec>,
    pub(crate) settings: Map<String, Value>,
    pub(crate) reminders: Vec<Reminder>,
    pub(crate) intentions: Vec<Intention>,
    pub(crate) skills: Vec<SkillSpec>,
    pub(crate) health: HealthSpec,
    pub(crate) home_path: String,
    pub(crate) home: BTreeMap<String, FileNode>,
    pub(crate) screenshot: String,
    /// The REST answers that are sent as they are written.
    pub(crate) channels: Value,
    pub(crate) backends: Value,
    pub(crate) identity: Value,
    pub(crate) version: Value,
    pub(crate) memory: Value,
    pub(crate) audit: Value,
    pub(crate) mcp_status: Value,
    pub(crate) remote_status: Value,
    pub(crate) tunnel_url: String,
    pub(crate) webhooks: Vec<WebhookSpec>,
    /// Presets in the real backend's full shape.
    pub(crate) mcp_presets: Vec<Value>,
    pub(crate) skills_library: Vec<LibrarySkillSpec>,
    pub(crate) security_audit: Vec<AuditCheckSpec>,
    pub(crate) self_audit_reports: Vec<SelfAuditReportSpec>,
    pub(crate) mission_control: MissionControl,
}

/// A 1×1 grey PNG: the screenshot when a file gives none.
const BLANK_PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

fn builtin_file() -> &'static BackendFile {
    static FILE: OnceLock<BackendFile> = OnceLock::new();
    FILE.get_or_init(|| {
        let src = Source::new(Path::new("<built-in backend.json>"), BUILTIN);
        let parsed = src.parse().and_then(|v| src.deserialize::<BackendFile>(v));
        parsed.unwrap_or_else(|p| {
            // Only a broken build can get here (a test compiles the bundled file).
            error!("the built-in backend data is invalid, using empty data: {p}");
            BackendFile::default()
        })
    })
}

impl BackendData {
    /// The built-in data (the bundled `recordings/backend.json`), for a recordings
    /// directory without a `backend.json`. Compiled once; cheap to call.
    pub(crate) fn builtin() -> Arc<BackendData> {
        static DATA: OnceLock<Arc<BackendData>> = OnceLock::new();
        DATA.get_or_init(|| {
            let src = Source::new(Path::new("<built-in backend.json>"), BUILTIN);
            let data = compile(&src, builtin_file().clone()).unwrap_or_else(|p| {
                error!("the built-in backend data is invalid: {p:?}");
                compile(&src, BackendFile::default()).expect("empty data always compiles")
            });
            Arc::new(data)
        })
        .clone()
    }
}

/// Reads, checks and compiles `dir/rel` over the built-in data.
pub(crate) fn load(dir: &Path, rel: &Path) -> Result<BackendData, Vec<Problem>> {
    let path = dir.join(rel);
    let text = crate::located::read_text(&path)?;
    from_text(&path, &text)
}

/// Compiles the text of a `backend.json` read from `path`.
pub(crate) fn from_text(path: &Path, text: &str) -> Result<BackendData, Vec<Problem>> {
    let src = Source::new(path, text);
    let value = src.parse().map_err(|p| vec![p])?;
    let file: BackendFile = src.deserialize(value).map_err(|p| vec![p])?;
    compile(&src, file.over(builtin_file()))
}

/// Checks what serde cannot (ranges, unique ids, the file tree) and resolves relative
/// times, reporting every problem at its JSON path in `src`.
pub(crate) fn compile(src: &Source, file: BackendFile) -> Result<BackendData, Vec<Problem>> {
    let now = SystemTime::now();
    let mut problems = Vec::new();
    let mut problem = |path: JsonPath, message: String, hint: &str| {
        problems.push(src.problem(path, message, Some(hint.to_owned())));
    };
    let root = JsonPath::root();

    if let Some(s) = &file.status {
        let path = root.key("status");
        for (key, value) in [
            ("cpu_percent", Some(s.cpu_percent)),
            ("battery_percent", s.battery_percent),
        ] {
            if let Some(v) = value
                && !(0.0..=100.0).contains(&v)
            {
                problem(
                    path.key(key),
                    format!("`{key}` is a percentage between 0 and 100, got {v}"),
                    "write a number such as 42.5",
                );
            }
        }
        for (used_key, used, total_key, total) in [
            ("ram_used_gb", s.ram_used_gb, "ram_total_gb", s.ram_total_gb),
            (
                "disk_used_gb",
                s.disk_used_gb,
                "disk_total_gb",
                s.disk_total_gb,
            ),
        ] {
            if !(total > 0.0 && total.is_finite()) {
                problem(
                    path.key(total_key),
                    format!("`{total_key}` must be more than 0, got {total}"),
                    "the dashboard shows used / total and a percentage",
                );
            } else if !(0.0..=total).contains(&used) {
                problem(
                    path.key(used_key),
                    format!(
                        "`{used_key}` must be between 0 and `{total_key}` ({total}), got {used}"
                    ),
                    "the dashboard shows used / total and a percentage",
                );
            }
        }
    }

    let mut reminders = Vec::new();
    let mut seen = HashSet::new();
    for (i, r) in file.reminders.unwrap_or_default().into_iter().enumerate() {
        let path = root.key("reminders").index(i);
        let id = r.id.unwrap_or_else(|| format!("reminder-{}", i + 1));
        if !seen.insert(id.clone()) {
            problem(
                path.key("id"),
                format!("reminder id `{id}` is used twice"),
                "give every reminder its own id",
            );
        }
        if r.text.trim().is_empty() {
            problem(
                path.key("text"),
                "a reminder needs a text".into(),
                "say what to be reminded of",
            );
        }
        reminders.push(Reminder {
            original: r.original.unwrap_or_else(|| r.text.clone()),
            id,
            text: r.text,
            trigger_at: now + r.due_in.0,
            created_at: now,
            kind: r.kind,
            schedule: r.schedule,
        });
    }

    let mut intentions = Vec::new();
    let mut seen = HashSet::new();
    for (i, it) in file.intentions.unwrap_or_default().into_iter().enumerate() {
        let path = root.key("intentions").index(i);
        let id = it.id.unwrap_or_else(|| format!("intention-{}", i + 1));
        if !seen.insert(id.clone()) {
            problem(
                path.key("id"),
                format!("intention id `{id}` is used twice"),
                "give every intention its own id",
            );
        }
        if it.name.trim().is_empty() {
            problem(
                path.key("name"),
                "an intention needs a name".into(),
                "name it as the dashboard should list it",
            );
        }
        intentions.push(Intention {
            id,
            name: it.name,
            prompt: it.prompt,
            trigger: serde_json::json!({"type": "cron", "schedule": it.schedule}),
            context_sources: Value::from(it.context_sources),
            enabled: it.enabled,
            created_at: now,
            last_run: None,
            next_run: it.next_run,
        });
    }

    let skills = file.skills.unwrap_or_default();
    let mut seen = HashSet::new();
    for (i, s) in skills.iter().enumerate() {
        let path = root.key("skills").index(i).key("name");
        if s.name.is_empty() || s.name.chars().any(char::is_whitespace) || s.name.contains('/') {
            problem(
                path,
                format!("skill name `{}` must be one word without `/`", s.name),
                "the dashboard runs a skill when a message starts with /name",
            );
        } else if !seen.insert(s.name.as_str()) {
            problem(
                path,
                format!("skill `{}` is listed twice", s.name),
                "remove one of the two",
            );
        }
    }

    let (home_path, home) = match file.home {
        Some(h) => {
            let path = root.key("home");
            if !h.path.starts_with('/') {
                problem(
                    path.key("path"),
                    format!("`path` must be absolute, got `{}`", h.path),
                    "write it like /home/paw",
                );
            }
            let tree = file_tree(&h.files, &path.key("files"), &mut problem);
            (h.path.trim_end_matches('/').to_owned(), tree)
        }
        None => ("/home/paw".to_owned(), BTreeMap::new()),
    };

    let screenshot = file.screenshot.unwrap_or_else(|| BLANK_PNG.to_owned());
    if screenshot.is_empty()
        || !screenshot
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
    {
        problem(
            root.key("screenshot"),
            "`screenshot` must be a base64-encoded PNG".into(),
            "encode one with `base64 -w0 shot.png`",
        );
    }

    let now_text = crate::timestamp::iso8601(now);
    let mut seen = HashSet::new();
    for (i, w) in file.webhooks.iter().flatten().enumerate() {
        let path = root.key("webhooks").index(i).key("name");
        if w.name.is_empty()
            || !w
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            problem(
                path,
                format!("webhook name `{}` must be letters, digits, - or _", w.name),
                "it becomes the URL /webhook/inbound/<name>",
            );
        } else if !seen.insert(w.name.clone()) {
            problem(
                path,
                format!("webhook `{}` is listed twice", w.name),
                "remove one of the two",
            );
        }
    }
    let mut mcp_presets = Vec::new();
    for (i, p) in file.mcp_presets.unwrap_or_default().into_iter().enumerate() {
        let path = root.key("mcp_presets").index(i);
        for key in ["id", "name"] {
            if !p.get(key).is_some_and(Value::is_string) {
                problem(
                    path.key(key),
                    format!("an MCP preset needs a string `{key}`"),
                    "write e.g. {\"id\": \"github\", \"name\": \"GitHub\"}",
                );
            }
        }
        mcp_presets.push(preset_json(p));
    }
    for (i, r) in file.self_audit_reports.iter().flatten().enumerate() {
        if !is_date(&r.date) {
            problem(
                root.key("self_audit_reports").index(i).key("date"),
                format!("`date` must be YYYY-MM-DD, got `{}`", r.date),
                "write e.g. 2026-02-10",
            );
        }
    }
    if let Some(url) = &file.tunnel_url
        && !url.starts_with("https://")
    {
        problem(
            root.key("tunnel_url"),
            format!("`tunnel_url` must start with https://, got `{url}`"),
            "write e.g. https://calm-paws-demo.trycloudflare.com",
        );
    }
    let mission_control = super::panel_data::compile_mission_control(
        file.mission_control.unwrap_or_default(),
        &root.key("mission_control"),
        &now_text,
        &mut problem,
    );

    if !problems.is_empty() {
        return Err(problems);
    }
    let json = |v: Option<Value>, default: Value| v.unwrap_or(default);
    Ok(BackendData {
        status: file.status,
        settings: file.settings.unwrap_or_default(),
        reminders,
        intentions,
        skills,
        health: file.health.unwrap_or(HealthSpec {
            status: HealthStatus::Healthy,
            check_count: 0,
            issues: Vec::new(),
            errors: Vec::new(),
        }),
        home_path,
        home,
        screenshot,
        channels: json(to_json(file.channels), Value::Object(Map::new())),
        backends: json(to_json(file.backends), Value::Array(Vec::new())),
        identity: json(
            to_json(file.identity),
            to_json(Some(IdentitySpec::default())).unwrap_or_default(),
        ),
        version: json(
            to_json(file.version),
            serde_json::json!({"current": env!("CARGO_PKG_VERSION"), "latest": env!("CARGO_PKG_VERSION"), "update_available": false}),
        ),
        memory: json(to_json(file.memory), Value::Array(Vec::new())),
        audit: json(to_json(file.audit), Value::Array(Vec::new())),
        mcp_status: json(file.mcp_status, Value::Object(Map::new())),
        remote_status: json(file.remote_status, Value::Object(Map::new())),
        tunnel_url: file
            .tunnel_url
            .unwrap_or_else(|| "https://pawmock-demo.trycloudflare.com".to_owned()),
        webhooks: file.webhooks.unwrap_or_default(),
        mcp_presets,
        skills_library: file.skills_library.unwrap_or_default(),
        security_audit: file.security_audit.unwrap_or_default(),
        self_audit_reports: file.self_audit_reports.unwrap_or_default(),
        mission_control,
    })
}

/// An MCP preset in the real backend's full shape: the file's fields over defaults.
fn preset_json(fields: Map<String, Value>) -> Value {
    let mut v = serde_json::json!({
        "id": "", "name": "", "description": "", "icon": "plug", "category": "other",
        "package": "", "transport": "stdio", "url": "", "docs_url": "",
        "needs_args": false, "oauth": false, "installed": false, "env_keys": [],
    });
    if let Value::Object(map) = &mut v {
        map.extend(fields);
    }
    v
}

/// `YYYY-MM-DD`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

fn to_json<T: Serialize>(v: Option<T>) -> Option<Value> {
    v.and_then(|v| serde_json::to_value(v).ok())
}

/// Reads a file tree written as name → size (a file) or name → object (a folder).
fn file_tree(
    files: &Map<String, Value>,
    path: &JsonPath,
    problem: &mut impl FnMut(JsonPath, String, &str),
) -> BTreeMap<String, FileNode> {
    let mut out = BTreeMap::new();
    for (name, value) in files {
        let here = path.key(name);
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\']) {
            problem(
                here,
                format!("`{name}` is not a file name"),
                "a name is one path segment, without / or \\",
            );
            continue;
        }
        let node = match value {
            Value::Object(children) => FileNode::Folder(file_tree(children, &here, problem)),
            Value::Number(n) if n.as_u64().is_some() => FileNode::File {
                size: n.as_u64().unwrap_or(0),
            },
            _ => {
                problem(
                    here,
                    format!("`{name}` must be a folder (an object) or a file (its size in bytes)"),
                    "write e.g. \"notes.md\": 2048 or \"Documents\": {}",
                );
                continue;
            }
        };
        out.insert(name.clone(), node);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile_text(text: &str) -> Result<BackendData, Vec<Problem>> {
        let src = Source::new(Path::new("backend.json"), text);
        let file: BackendFile = src
            .deserialize(src.parse().map_err(|p| vec![p])?)
            .map_err(|p| vec![p])?;
        compile(&src, file.over(builtin_file()))
    }

    #[test]
    fn the_bundled_file_is_the_builtin_data_and_is_complete() {
        let data = BackendData::builtin();
        assert!(data.status.is_some());
        assert_eq!(data.settings["hasAnthropicKey"], true);
        assert_eq!(data.reminders.len(), 2);
        assert_eq!(data.intentions.len(), 2);
        assert!(data.skills.len() >= 2);
        assert!(data.home.contains_key("Documents"));
        assert!(data.backends.as_array().is_some_and(|b| !b.is_empty()));
    }

    #[test]
    fn a_file_changes_only_the_sections_it_gives_and_settings_key_by_key() {
        let data =
            compile_text(r#"{"settings": {"llmProvider": "ollama"}, "skills": []}"#).unwrap();
        assert_eq!(data.settings["llmProvider"], "ollama");
        assert_eq!(
            data.settings["hasAnthropicKey"], true,
            "other settings kept"
        );
        assert!(
            data.skills.is_empty(),
            "a given section replaces the built-in one"
        );
        assert_eq!(
            data.reminders.len(),
            2,
            "a missing section keeps the built-in one"
        );
    }

    #[test]
    fn problems_are_reported_at_their_path() {
        let text = "{\n  \"status\": {\"os\": \"x\", \"cpu_percent\": 140, \"cpu_cores\": 1, \"ram_used_gb\": 9, \"ram_total_gb\": 8,\n    \"disk_used_gb\": 1, \"disk_total_gb\": 2, \"uptime\": \"1:00\"},\n  \"reminders\": [{\"id\": \"a\", \"text\": \"x\", \"in\": \"1m\"}, {\"id\": \"a\", \"text\": \"y\", \"in\": \"2m\"}],\n  \"skills\": [{\"name\": \"two words\"}],\n  \"home\": {\"path\": \"/h\", \"files\": {\"a\": {\"b\": \"big\"}}}\n}";
        let problems = compile_text(text).unwrap_err();
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        let expect = [
            "backend.json:2:40: status.cpu_percent: `cpu_percent` is a percentage between 0 and 100, got 140",
            "status.ram_used_gb: `ram_used_gb` must be between 0 and `ram_total_gb` (8), got 9",
            "backend.json:4:62: reminders[1].id: reminder id `a` is used twice",
            "skills[0].name: skill name `two words` must be one word",
            "home.files.a.b: `b` must be a folder (an object) or a file",
        ];
        for e in expect {
            assert!(
                shown.iter().any(|s| s.contains(e)),
                "missing `{e}` in {shown:#?}"
            );
        }
    }

    #[test]
    fn panel_sections_are_checked_at_their_path_and_filled_out() {
        let text = r#"{"mission_control": {"agents": [{"id": "a", "name": "A"}, {"id": "a"}]},
            "mcp_presets": [{"id": "x"}], "self_audit_reports": [{"date": "yesterday", "results": []}],
            "tunnel_url": "http://plain", "webhooks": [{"name": "has space", "secret": "s"}]}"#;
        let shown: Vec<String> = compile_text(text)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        for e in [
            "mission_control.agents[1].name: a Mission Control agents needs a string `name`",
            "mission_control.agents[1].id: id `a` is used twice in `agents`",
            "mcp_presets[0].name: an MCP preset needs a string `name`",
            "self_audit_reports[0].date: `date` must be YYYY-MM-DD",
            "tunnel_url: `tunnel_url` must start with https://",
            "webhooks[0].name: webhook name `has space` must be letters, digits, - or _",
        ] {
            assert!(
                shown.iter().any(|s| s.contains(e)),
                "missing `{e}` in {shown:#?}"
            );
        }
        let data =
            compile_text(r#"{"mission_control": {"tasks": [{"id": "t", "title": "T"}]}}"#).unwrap();
        let task = &data.mission_control.tasks[0];
        assert_eq!(task["status"], "inbox");
        assert_eq!(task["priority"], "medium");
        assert!(task["created_at"].is_string());
    }

    #[test]
    fn serde_errors_name_the_field() {
        let problems =
            compile_text("{\"reminders\": [{\"text\": \"x\", \"in\": \"soon\"}]}").unwrap_err();
        assert!(
            problems[0].to_string().contains("reminders[0].in"),
            "{}",
            problems[0]
        );
        let problems = compile_text("{\"colour\": 1}").unwrap_err();
        assert!(problems[0].message.contains("unknown field `colour`"));
    }
}
