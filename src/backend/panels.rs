//! What the dashboard's panels change during the run: channels started or stopped,
//! identity files saved, the audit log and error log cleared, the tunnel, webhooks,
//! MCP servers, installed library skills, self-audit runs, Telegram pairing, Mission
//! Control's agents and tasks, Deep Work projects.
//!
//! Like [`super::RunState`], a layer over the canned data of the current snapshot,
//! shared by every request: lists the run changes are copied from the canned data on
//! their first change and kept from then on (a reload of `backend.json` no longer
//! shows in a list the user has edited, which is what the user expects of an edit).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use serde_json::{Map, Value};

use super::data::{BackendData, WebhookSpec};
use super::panel_data::{McKind, MissionControl};

/// The run's panel changes.
#[derive(Debug, Default)]
pub(crate) struct PanelState(Mutex<Panels>);

#[derive(Debug, Default)]
pub(crate) struct Panels {
    /// Channel → running, for channels started or stopped.
    pub(crate) channels_running: BTreeMap<String, bool>,
    /// Identity fields saved with `PUT /api/identity`.
    pub(crate) identity: Map<String, Value>,
    pub(crate) audit_cleared: bool,
    pub(crate) health_errors_cleared: bool,
    /// The URL of the running tunnel.
    pub(crate) tunnel: Option<String>,
    /// The master token after `POST /api/token/regenerate`.
    pub(crate) token: Option<String>,
    /// Webhooks, once changed.
    pub(crate) webhooks: Option<Vec<WebhookSpec>>,
    /// MCP servers added (name → status entry) and removed.
    pub(crate) mcp_added: BTreeMap<String, Value>,
    pub(crate) mcp_removed: HashSet<String>,
    /// MCP servers toggled: name → enabled.
    pub(crate) mcp_enabled: HashMap<String, bool>,
    /// Library skills installed (by name).
    pub(crate) skills_installed: Vec<String>,
    /// Canned skills removed in the skills modal (by name).
    pub(crate) skills_removed: HashSet<String>,
    /// Self-audit reports run during the run, newest last.
    pub(crate) self_audit_runs: Vec<Value>,
    /// Set by `POST /api/telegram/setup`.
    pub(crate) telegram_set_up: bool,
    /// Mission Control (and Deep Work projects), once changed.
    pub(crate) mission_control: Option<MissionControl>,
    /// Deep Work plans by project id (`goal_analysis`).
    pub(crate) plans: HashMap<String, Value>,
    /// Long-term memories deleted (`DELETE /api/memory/long_term/{id}`).
    pub(crate) memories_deleted: HashSet<String>,
    /// Channels whose settings were saved (`POST /api/channels/save`): now configured.
    pub(crate) channels_saved: HashSet<String>,
    /// Messages posted to Mission Control tasks, by task id.
    pub(crate) task_messages: HashMap<String, Vec<Value>>,
}

/// Items one list the dashboard adds to (agents, tasks, task messages in all, webhooks,
/// MCP servers, installed skills, projects) holds at most. With request bodies capped
/// at 64 KiB, this bounds the run's panel state in bytes too (about 32 MiB a list at
/// worst).
pub(crate) const MAX_ITEMS: usize = 500;

impl PanelState {
    /// The panels, locked for one short change or read.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Panels> {
        // A panic elsewhere must not take the dashboard's data down with it.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Panels {
    /// The webhooks as listed now.
    pub(crate) fn webhooks<'a>(&'a self, data: &'a BackendData) -> &'a Vec<WebhookSpec> {
        self.webhooks.as_ref().unwrap_or(&data.webhooks)
    }

    /// The webhooks, to change (copied from the canned data the first time).
    pub(crate) fn webhooks_mut(&mut self, data: &BackendData) -> &mut Vec<WebhookSpec> {
        self.webhooks.get_or_insert_with(|| data.webhooks.clone())
    }

    pub(crate) fn mission_control<'a>(&'a self, data: &'a BackendData) -> &'a MissionControl {
        self.mission_control
            .as_ref()
            .unwrap_or(&data.mission_control)
    }

    pub(crate) fn mission_control_mut(&mut self, data: &BackendData) -> &mut MissionControl {
        self.mission_control
            .get_or_insert_with(|| data.mission_control.clone())
    }

    /// The Mission Control object of `kind` with this id, to change.
    pub(crate) fn mc_item_mut(
        &mut self,
        data: &BackendData,
        kind: McKind,
        id: &str,
    ) -> Option<&mut Value> {
        self.mission_control_mut(data)
            .list_mut(kind)
            .iter_mut()
            .find(|v| v.get("id").and_then(Value::as_str) == Some(id))
    }
}
