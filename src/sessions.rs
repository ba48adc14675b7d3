//! The in-memory session store: every conversation's history, seeded from the
//! scenarios' `history` and added to by what is chatted while pawmock runs.
//!
//! One store serves all connections (as the real backend's memory does), behind a plain
//! mutex: every operation is a short copy in or out, never held across an await.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use crate::library::Library;
use crate::protocol::HistoryMessage;

/// How many messages a history reply carries, as the real backend does.
pub const HISTORY_LIMIT: usize = 100;

/// One stored message.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub role: String,
    pub content: String,
    pub at: SystemTime,
}

/// One conversation.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    /// Title: set by a rename, else taken from the first user message.
    pub title: Option<String>,
    pub channel: String,
    pub created: SystemTime,
    pub last_activity: SystemTime,
    pub messages: Vec<StoredMessage>,
}

impl Session {
    fn new(id: &str) -> Self {
        let now = SystemTime::now();
        Session {
            id: id.to_owned(),
            title: None,
            channel: id.split('_').next().unwrap_or("websocket").to_owned(),
            created: now,
            last_activity: now,
            messages: Vec::new(),
        }
    }

    /// The title shown in lists: the rename, else the first user message (shortened).
    pub fn display_title(&self) -> String {
        if let Some(t) = &self.title {
            return t.clone();
        }
        self.messages
            .iter()
            .find(|m| m.role == "user")
            .map(|m| shorten(&m.content, 60))
            .unwrap_or_else(|| "New Chat".to_owned())
    }
}

fn shorten(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    if line.chars().count() <= max {
        line.to_owned()
    } else {
        format!("{}…", line.chars().take(max - 1).collect::<String>())
    }
}

/// Shared handle to the store.
#[derive(Debug, Clone, Default)]
pub struct Sessions(Arc<Mutex<HashMap<String, Session>>>);

impl Sessions {
    /// A store holding every scenario's `history` under its session id.
    pub fn seeded_from(library: &Library) -> Self {
        let store = Sessions::default();
        store.seed(library);
        store
    }

    /// Adds the history of scenarios whose session is not in the store yet (a session
    /// that already exists keeps what was chatted in it).
    pub fn seed(&self, library: &Library) {
        let mut map = self.lock();
        for s in library.scenarios() {
            if s.history.is_empty() || map.contains_key(&s.session_id) {
                continue;
            }
            let mut session = Session::new(&s.session_id);
            session.title = Some(s.title.clone());
            session.messages = s
                .history
                .iter()
                .map(|m| StoredMessage {
                    role: m.role.clone(),
                    content: m.content.clone(),
                    at: session.created,
                })
                .collect();
            map.insert(s.session_id.clone(), session);
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        // A panic elsewhere must not take the store down with it.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The last [`HISTORY_LIMIT`] messages of a session; unknown ids have none.
    pub fn history(&self, id: &str) -> Vec<HistoryMessage> {
        let map = self.lock();
        let Some(s) = map.get(id) else {
            return Vec::new();
        };
        let skip = s.messages.len().saturating_sub(HISTORY_LIMIT);
        s.messages[skip..]
            .iter()
            .map(|m| HistoryMessage {
                role: m.role.clone(),
                content: m.content.clone(),
            })
            .collect()
    }

    /// Appends a message, creating the session on its first message.
    ///
    /// Every connection that starts a turn comes here, so everything that allocates is
    /// done before the lock is taken: with 1,000 turns starting together, allocating a
    /// key, a session and the message under the lock made the connections queue on it.
    pub fn append(&self, id: &str, role: &str, content: impl Into<String>) {
        let now = SystemTime::now();
        let message = StoredMessage {
            role: role.to_owned(),
            content: content.into(),
            at: now,
        };
        if let Some(s) = self.lock().get_mut(id) {
            s.messages.push(message);
            s.last_activity = now;
            return;
        }
        let key = id.to_owned();
        let mut fresh = Session::new(id);
        fresh.messages.push(message);
        match self.lock().entry(key) {
            // Another connection created it meanwhile.
            Entry::Occupied(mut e) => {
                let s = e.get_mut();
                s.messages.append(&mut fresh.messages);
                s.last_activity = now;
            }
            Entry::Vacant(e) => {
                e.insert(fresh);
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<Session> {
        self.lock().get(id).cloned()
    }

    /// All sessions, most recent activity first.
    pub fn list(&self) -> Vec<Session> {
        let mut all: Vec<Session> = self.lock().values().cloned().collect();
        all.sort_by(|a, b| {
            b.last_activity
                .cmp(&a.last_activity)
                .then_with(|| a.id.cmp(&b.id))
        });
        all
    }

    /// Removes a session; false when there was none.
    pub fn delete(&self, id: &str) -> bool {
        self.lock().remove(id).is_some()
    }

    /// Renames a session; false when there is none.
    pub fn rename(&self, id: &str, title: &str) -> bool {
        match self.lock().get_mut(id) {
            Some(s) => {
                s.title = Some(title.to_owned());
                true
            }
            None => false,
        }
    }
}

/// A fresh session id in the dashboard's form, `websocket_<uuid4>`.
pub fn new_session_id() -> String {
    format!("websocket_{}", uuid::Uuid::new_v4())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_created_by_its_first_message_and_titled_from_it() {
        let s = Sessions::default();
        assert!(s.history("websocket_x").is_empty());
        s.append("websocket_x", "user", "What's the weather?\nthanks");
        s.append("websocket_x", "assistant", "Sunny.");
        assert_eq!(s.history("websocket_x").len(), 2);
        assert_eq!(
            s.get("websocket_x").unwrap().display_title(),
            "What's the weather?"
        );
        assert!(s.rename("websocket_x", "Weather"));
        assert_eq!(s.list()[0].display_title(), "Weather");
        assert!(s.delete("websocket_x"));
        assert!(!s.delete("websocket_x"));
    }

    #[test]
    fn history_keeps_the_last_hundred() {
        let s = Sessions::default();
        for i in 0..150 {
            s.append("a_b", "user", i.to_string());
        }
        let h = s.history("a_b");
        assert_eq!(h.len(), HISTORY_LIMIT);
        assert_eq!(h[0].content, "50");
    }
}
