//! What the dashboard changes while pawmock runs: reminders and intentions added,
//! edited or deleted, settings saved, API keys stored, the last health check.
//!
//! Kept as a layer over the canned data rather than a copy of it: the canned lists
//! come from the current library snapshot at every read, so a reload of
//! `backend.json` shows at once, and what the user did during the run stays on top.
//! One mutex for all of it; every operation is a short copy in or out.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use serde_json::{Map, Value};

use super::data::{BackendData, Intention, Reminder};

fn rings_once(r: &Reminder) -> bool {
    r.kind.as_deref() != Some("recurring")
}

/// The run's changes, shared by every connection (the real backend has one store too).
#[derive(Debug, Default)]
pub(crate) struct RunState(Mutex<Changes>);

#[derive(Debug, Default)]
struct Changes {
    reminders_added: Vec<Reminder>,
    /// Ids of deleted reminders, canned or added.
    reminders_deleted: HashSet<String>,
    intentions_added: Vec<Intention>,
    /// Canned intentions as the run changed them (toggled, updated, run).
    intentions_changed: HashMap<String, Intention>,
    intentions_deleted: HashSet<String>,
    /// Settings saved by the `settings` and `save_api_key` actions (camelCase keys).
    settings: Map<String, Value>,
    last_health_check: Option<SystemTime>,
}

impl RunState {
    fn lock(&self) -> MutexGuard<'_, Changes> {
        // A panic elsewhere must not take the dashboard's data down with it.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Canned reminders (less the deleted), then those added during the run.
    pub(crate) fn reminders(&self, data: &BackendData) -> Vec<Reminder> {
        let c = self.lock();
        data.reminders
            .iter()
            .chain(&c.reminders_added)
            .filter(|r| !c.reminders_deleted.contains(&r.id))
            .cloned()
            .collect()
    }

    pub(crate) fn add_reminder(&self, reminder: Reminder) {
        self.lock().reminders_added.push(reminder);
    }

    /// The one-time reminders due at `now`, taken off the list: a reminder that has
    /// rung is gone, as on the real backend. Recurring ones (a cron `schedule`) never
    /// ring here.
    pub(crate) fn take_due(&self, data: &BackendData, now: SystemTime) -> Vec<Reminder> {
        let due: Vec<Reminder> = self
            .reminders(data)
            .into_iter()
            .filter(|r| rings_once(r) && r.trigger_at <= now)
            .collect();
        let mut c = self.lock();
        due.into_iter()
            .filter(|r| c.reminders_deleted.insert(r.id.clone()))
            .collect()
    }

    /// When the next one-time reminder is due.
    pub(crate) fn next_due(&self, data: &BackendData) -> Option<SystemTime> {
        self.reminders(data)
            .iter()
            .filter(|r| rings_once(r))
            .map(|r| r.trigger_at)
            .min()
    }

    /// Deletes a listed reminder; false when there is none with that id.
    pub(crate) fn delete_reminder(&self, data: &BackendData, id: &str) -> bool {
        // One lock for the check and the delete, so a reminder ringing in between is
        // either rung or deleted, never both.
        let mut c = self.lock();
        let listed = data
            .reminders
            .iter()
            .chain(&c.reminders_added)
            .any(|r| r.id == id);
        listed && c.reminders_deleted.insert(id.to_owned())
    }

    /// Canned intentions as changed by the run (less the deleted), then the added ones.
    pub(crate) fn intentions(&self, data: &BackendData) -> Vec<Intention> {
        let c = self.lock();
        data.intentions
            .iter()
            .map(|i| c.intentions_changed.get(&i.id).unwrap_or(i))
            .chain(&c.intentions_added)
            .filter(|i| !c.intentions_deleted.contains(&i.id))
            .cloned()
            .collect()
    }

    pub(crate) fn add_intention(&self, intention: Intention) {
        self.lock().intentions_added.push(intention);
    }

    /// Applies `change` to the listed intention `id` and returns it as changed, or
    /// `None` when there is no such intention.
    pub(crate) fn change_intention(
        &self,
        data: &BackendData,
        id: &str,
        change: impl FnOnce(&mut Intention),
    ) -> Option<Intention> {
        let mut current = self.intentions(data).into_iter().find(|i| i.id == id)?;
        change(&mut current);
        let mut c = self.lock();
        match c.intentions_added.iter_mut().find(|i| i.id == id) {
            Some(added) => *added = current.clone(),
            None => {
                c.intentions_changed.insert(id.to_owned(), current.clone());
            }
        }
        Some(current)
    }

    /// Deletes a listed intention; false when there is none with that id.
    pub(crate) fn delete_intention(&self, data: &BackendData, id: &str) -> bool {
        if !self.intentions(data).iter().any(|i| i.id == id) {
            return false;
        }
        self.lock().intentions_deleted.insert(id.to_owned());
        true
    }

    /// The canned settings with the run's changes on top.
    pub(crate) fn settings(&self, data: &BackendData) -> Map<String, Value> {
        let mut settings = data.settings.clone();
        settings.extend(self.lock().settings.clone());
        settings
    }

    /// Stores settings (camelCase keys) for the rest of the run.
    pub(crate) fn save_settings(&self, changes: Map<String, Value>) {
        self.lock().settings.extend(changes);
    }

    pub(crate) fn last_health_check(&self) -> Option<SystemTime> {
        self.lock().last_health_check
    }

    pub(crate) fn record_health_check(&self, at: SystemTime) {
        self.lock().last_health_check = Some(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_reminders_ring_once_when_due_and_recurring_ones_never() {
        let data = BackendData::builtin();
        let state = RunState::default();
        let t0 = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        let at = |secs: u64| t0 + std::time::Duration::from_secs(secs);
        let canned_soonest = data.reminders.iter().map(|r| r.trigger_at).min();
        let r = data.reminders[0].clone();
        let reminder = |id: &str, due: SystemTime, kind: Option<&str>| Reminder {
            id: id.into(),
            trigger_at: due,
            kind: kind.map(str::to_owned),
            ..r.clone()
        };
        state.add_reminder(reminder("later", at(20), None));
        state.add_reminder(reminder("soon", at(10), None));
        state.add_reminder(reminder("cron", at(5), Some("recurring")));
        state.add_reminder(reminder("gone", at(1), None));
        assert!(state.delete_reminder(&data, "gone"));

        let due_ids = |now| -> Vec<String> {
            state
                .take_due(&data, now)
                .into_iter()
                .map(|r| r.id)
                .collect()
        };
        // The canned reminders are due relative to when the data was loaded: far later.
        assert!(canned_soonest.is_some_and(|c| c > at(20)));
        assert_eq!(state.next_due(&data), Some(at(10)));
        assert!(due_ids(at(9)).is_empty());
        assert_eq!(due_ids(at(10)), ["soon"]);
        assert!(due_ids(at(10)).is_empty(), "rings once");
        assert_eq!(state.next_due(&data), Some(at(20)));
        assert_eq!(due_ids(at(30)), ["later"]);
        let left: Vec<String> = state.reminders(&data).into_iter().map(|r| r.id).collect();
        assert!(left.contains(&"cron".to_owned()), "{left:?}");
        assert!(!left.contains(&"later".to_owned()), "{left:?}");
    }

    #[test]
    fn changes_layer_over_the_canned_lists() {
        let data = BackendData::builtin();
        let state = RunState::default();
        let canned = state.reminders(&data);
        let first = canned[0].id.clone();
        let mut added = canned[0].clone();
        added.id = "new".into();
        state.add_reminder(added);
        assert!(state.delete_reminder(&data, &first));
        assert!(!state.delete_reminder(&data, &first), "already gone");
        let ids: Vec<String> = state.reminders(&data).into_iter().map(|r| r.id).collect();
        assert_eq!(ids, [canned[1].id.clone(), "new".to_owned()]);

        let id = data.intentions[0].id.clone();
        let was = data.intentions[0].enabled;
        let toggled = state
            .change_intention(&data, &id, |i| i.enabled = !i.enabled)
            .unwrap();
        assert_eq!(toggled.enabled, !was);
        assert_eq!(state.intentions(&data)[0].enabled, !was);
        assert!(state.change_intention(&data, "nope", |_| {}).is_none());
        assert!(state.delete_intention(&data, &id));
        assert!(state.intentions(&data).iter().all(|i| i.id != id));
    }
}
