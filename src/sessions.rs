//! The in-memory session store: every conversation's history, seeded from the
//! scenarios' `history` and added to by what is chatted while pawmock runs.
//!
//! One store serves all connections (as the real backend's memory does), behind a plain
//! mutex: every operation is a short copy in or out, never held across an await.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use crate::library::Library;
use crate::protocol::HistoryMessage;

/// Sessions kept at most; beyond it the least recently active is forgotten.
pub const MAX_SESSIONS: usize = 10_000;

/// Messages kept per session at most; the oldest go first.
pub const MAX_MESSAGES: usize = 1_000;

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
    /// Title given by the file that seeded the session (a scenario's title).
    pub title: Option<String>,
    /// Title given by a rename (`POST /api/sessions/{id}/title`); wins over the others.
    pub user_title: Option<String>,
    pub channel: String,
    pub created: SystemTime,
    pub last_activity: SystemTime,
    pub messages: Vec<StoredMessage>,
    /// True while the session holds exactly a scenario's `history`: a reload may then
    /// replace it with the edited history. Any chat in it makes it the user's.
    pub seeded: bool,
}

impl Session {
    fn new(id: &str) -> Self {
        let now = SystemTime::now();
        Session {
            id: id.to_owned(),
            title: None,
            user_title: None,
            channel: id.split('_').next().unwrap_or("websocket").to_owned(),
            created: now,
            last_activity: now,
            messages: Vec::new(),
            seeded: false,
        }
    }

    /// The title shown in lists: the rename, else the seeded title, else the first user
    /// message (shortened).
    pub fn display_title(&self) -> String {
        if let Some(t) = self.user_title.as_ref().or(self.title.as_ref()) {
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

/// The sessions, and the seeded ones the user deleted (so a reload does not bring
/// them back).
#[derive(Debug, Default)]
struct Store {
    sessions: HashMap<String, Session>,
    deleted: std::collections::HashSet<String>,
}

/// Shared handle to the store.
#[derive(Debug, Clone, Default)]
pub struct Sessions(Arc<Mutex<Store>>);

impl Sessions {
    /// A store holding every scenario's `history` under its session id.
    pub fn seeded_from(library: &Library) -> Self {
        let store = Sessions::default();
        store.seed(library);
        store
    }

    /// Adds each scenario's `history` as its session. A session still exactly as seeded
    /// takes the (possibly edited) history again; one that was chatted in, renamed or
    /// deleted over REST keeps what the user did.
    pub fn seed(&self, library: &Library) {
        let mut store = self.lock();
        let Store {
            sessions: map,
            deleted,
        } = &mut *store;
        for s in library.scenarios() {
            if s.history.is_empty()
                || deleted.contains(&s.session_id)
                || map.get(&s.session_id).is_some_and(|old| !old.seeded)
            {
                continue;
            }
            let mut session = Session::new(&s.session_id);
            session.seeded = true;
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

    /// Forgets everything chatted, renamed or deleted and seeds again: the state the
    /// server started in (the control API's `reset`, for isolation between tests).
    pub fn reset(&self, library: &Library) {
        *self.lock() = Store::default();
        self.seed(library);
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        // A panic elsewhere must not take the store down with it.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The last [`HISTORY_LIMIT`] messages of a session; unknown ids have none.
    pub fn history(&self, id: &str) -> Vec<HistoryMessage> {
        let store = self.lock();
        let Some(s) = store.sessions.get(id) else {
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
    /// Every connection that starts a turn comes here, so what allocates is done before
    /// the lock is taken: with 1,000 turns starting together, allocating under the lock
    /// made the connections queue on it.
    pub fn append(&self, id: &str, role: &str, content: impl Into<String>) {
        let now = SystemTime::now();
        let message = StoredMessage {
            role: role.to_owned(),
            content: content.into(),
            at: now,
        };
        let fresh = Session::new(id);
        let mut store = self.lock();
        store.deleted.remove(id);
        let map = &mut store.sessions;
        if !map.contains_key(id) && map.len() >= MAX_SESSIONS {
            // Forget the least recently active session: a long run (a test suite opening
            // sessions all day) must not grow without bound.
            if let Some(oldest) = map
                .values()
                .min_by_key(|s| s.last_activity)
                .map(|s| s.id.clone())
            {
                map.remove(&oldest);
            }
        }
        let s = map.entry(fresh.id.clone()).or_insert(fresh);
        s.seeded = false;
        s.messages.push(message);
        if s.messages.len() > MAX_MESSAGES {
            let excess = s.messages.len() - MAX_MESSAGES;
            s.messages.drain(..excess);
        }
        s.last_activity = now;
    }

    pub fn get(&self, id: &str) -> Option<Session> {
        self.lock().sessions.get(id).cloned()
    }

    /// All sessions, most recent activity first.
    pub fn list(&self) -> Vec<Session> {
        let mut all: Vec<Session> = self.lock().sessions.values().cloned().collect();
        all.sort_by(|a, b| {
            b.last_activity
                .cmp(&a.last_activity)
                .then_with(|| a.id.cmp(&b.id))
        });
        all
    }

    /// Removes a session; false when there was none.
    pub fn delete(&self, id: &str) -> bool {
        let mut store = self.lock();
        let removed = store.sessions.remove(id).is_some();
        if removed {
            store.deleted.insert(id.to_owned());
        }
        removed
    }

    /// Renames a session; false when there is none.
    pub fn rename(&self, id: &str, title: &str) -> bool {
        match self.lock().sessions.get_mut(id) {
            Some(s) => {
                s.user_title = Some(title.to_owned());
                s.seeded = false;
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
        assert_eq!(s.list()[0].user_title.as_deref(), Some("Weather"));
        assert!(s.delete("websocket_x"));
        assert!(!s.delete("websocket_x"));
    }

    fn library_with_history(dir: &std::path::Path, reply: &str) -> Library {
        std::fs::write(
            dir.join("h.json"),
            format!(r#"{{"history": [{{"role": "user", "content": "hi"}}, {{"role": "assistant", "content": "{reply}"}}],
                "turns": [{{"reply": [{{"say": "x"}}]}}]}}"#),
        )
        .unwrap();
        Library::load(dir).unwrap().library
    }

    #[test]
    fn an_edited_history_replaces_a_seeded_session_only_while_it_is_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let s = Sessions::seeded_from(&library_with_history(dir.path(), "one"));
        s.seed(&library_with_history(dir.path(), "two"));
        assert_eq!(
            s.history("websocket_h")[1].content,
            "two",
            "untouched: takes the edit"
        );
        s.append("websocket_h", "user", "mine now");
        s.seed(&library_with_history(dir.path(), "three"));
        assert_eq!(
            s.history("websocket_h")[1].content,
            "two",
            "chatted in: keeps the user's"
        );
        assert!(s.delete("websocket_h"));
        s.seed(&library_with_history(dir.path(), "four"));
        assert!(s.get("websocket_h").is_none(), "deleted stays deleted");
    }

    #[test]
    fn the_store_is_bounded() {
        let s = Sessions::default();
        for i in 0..MAX_MESSAGES + 10 {
            s.append("a_b", "user", i.to_string());
        }
        assert_eq!(s.get("a_b").unwrap().messages.len(), MAX_MESSAGES);
        for i in 0..MAX_SESSIONS + 5 {
            s.append(&format!("websocket_{i}"), "user", "x");
        }
        assert_eq!(s.list().len(), MAX_SESSIONS);
        assert!(
            s.get("a_b").is_none(),
            "the least recently active went first"
        );
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
