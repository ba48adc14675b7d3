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
pub(crate) const MAX_SESSIONS: usize = 10_000;

/// Messages kept per session at most; the oldest go first.
pub(crate) const MAX_MESSAGES: usize = 1_000;

/// Bytes of stored history kept by default (`--history-budget`); past it the least
/// recently active sessions are forgotten.
pub(crate) const DEFAULT_BUDGET: usize = 64 << 20;

/// What a stored message or session costs beyond its text (allocations, timestamps),
/// counted so that many tiny messages are bounded too.
const MESSAGE_OVERHEAD: usize = 64;
const SESSION_OVERHEAD: usize = 256;

fn session_bytes(s: &Session) -> usize {
    SESSION_OVERHEAD
        + 2 * s.id.len()
        + s.title.as_ref().map_or(0, String::len)
        + s.user_title.as_ref().map_or(0, String::len)
        + s.channel.len()
        + s.messages
            .iter()
            .map(|m| m.role.len() + m.content.len() + MESSAGE_OVERHEAD)
            .sum::<usize>()
}

/// How many messages a history reply carries, as the real backend does.
pub(crate) const HISTORY_LIMIT: usize = 100;

/// One stored message.
#[derive(Debug, Clone)]
pub(crate) struct StoredMessage {
    pub(crate) role: String,
    pub(crate) content: String,
    pub(crate) at: SystemTime,
}

/// One conversation.
#[derive(Debug, Clone)]
pub struct Session {
    pub(crate) id: String,
    /// Title given by the file that seeded the session (a scenario's title).
    pub(crate) title: Option<String>,
    /// Title given by a rename (`POST /api/sessions/{id}/title`); wins over the others.
    pub(crate) user_title: Option<String>,
    pub(crate) channel: String,
    pub(crate) created: SystemTime,
    pub(crate) last_activity: SystemTime,
    pub(crate) messages: Vec<StoredMessage>,
    /// True while the session holds exactly a scenario's `history`: a reload may then
    /// replace it with the edited history. Any chat in it makes it the user's.
    pub(crate) seeded: bool,
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
    pub(crate) fn display_title(&self) -> String {
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
    /// Activity order and size of every session, for the byte budget.
    recency: crate::recency::Recency,
    /// `None`: [`DEFAULT_BUDGET`].
    budget: Option<usize>,
    /// With `--state`: told the id of every session the user changes.
    changes: Option<Arc<crate::session_changes::ChangeLog>>,
}

impl Store {
    /// Forgets the least recently active sessions until the store is within its byte
    /// budget and [`MAX_SESSIONS`]; `keep` (the one just written) is trimmed of its
    /// oldest messages instead if it alone is over the budget. O(log n) per eviction.
    fn enforce(&mut self, keep: &str) {
        let budget = self.budget.unwrap_or(DEFAULT_BUDGET);
        while self.recency.bytes() > budget || self.sessions.len() > MAX_SESSIONS {
            let Some(oldest) = self.recency.oldest().map(str::to_owned) else {
                break;
            };
            if oldest == keep {
                break;
            }
            self.recency.forget(&oldest);
            self.sessions.remove(&oldest);
        }
        if self.recency.bytes() > budget
            && let Some(s) = self.sessions.get_mut(keep)
        {
            let mut bytes = session_bytes(s);
            let mut drop = 0;
            while bytes > budget && drop + 1 < s.messages.len() {
                let m = &s.messages[drop];
                bytes -= m.role.len() + m.content.len() + MESSAGE_OVERHEAD;
                drop += 1;
            }
            s.messages.drain(..drop);
            self.recency.resize(keep, bytes);
        }
    }
}

/// Shared handle to the store.
#[derive(Debug, Clone, Default)]
pub struct Sessions(Arc<Mutex<Store>>);

impl Sessions {
    /// A store holding every scenario's `history` under its session id.
    pub(crate) fn seeded_from(library: &Library) -> Self {
        let store = Sessions::default();
        store.seed(library);
        store
    }

    /// Adds each scenario's `history` as its session. A session still exactly as seeded
    /// takes the (possibly edited) history again; one that was chatted in, renamed or
    /// deleted over REST keeps what the user did.
    pub(crate) fn seed(&self, library: &Library) {
        let mut store = self.lock();
        let store = &mut *store;
        let Store {
            sessions: map,
            deleted,
            recency,
            ..
        } = store;
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
            recency.resize(&s.session_id, session_bytes(&session));
            map.insert(s.session_id.clone(), session);
        }
        store.enforce("");
    }

    /// Sets the byte budget of stored history (`--history-budget`) and applies it.
    pub(crate) fn set_budget(&self, bytes: usize) {
        let mut store = self.lock();
        store.budget = Some(bytes);
        store.enforce("");
    }

    /// Bytes of history held now (text plus a fixed overhead per message and session).
    pub fn bytes(&self) -> usize {
        self.lock().recency.bytes()
    }

    /// Forgets everything chatted, renamed or deleted and seeds again: the state the
    /// server started in (the control API's `reset`, for isolation between tests).
    pub(crate) fn reset(&self, library: &Library) {
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
        let mut store = self.lock();
        if !store.sessions.contains_key(id) {
            // A new session (the first message of a chat) is built outside the lock too;
            // the usual case, a session that exists, allocates nothing more.
            drop(store);
            let fresh = Session::new(id);
            store = self.lock();
            if !store.sessions.contains_key(id) {
                store.sessions.insert(fresh.id.clone(), fresh);
            }
        }
        store.deleted.remove(id);
        let store = &mut *store;
        let Some(s) = store.sessions.get_mut(id) else {
            return; // inserted above, under this same lock
        };
        s.seeded = false;
        s.messages.push(message);
        if s.messages.len() > MAX_MESSAGES {
            let excess = s.messages.len() - MAX_MESSAGES;
            s.messages.drain(..excess);
        }
        s.last_activity = now;
        // A long run (a test suite opening sessions all day) must not grow without
        // bound: the least recently active sessions go once the budget is spent.
        store.recency.touch(id, session_bytes(s));
        store.enforce(id);
        if let Some(log) = &store.changes {
            log.mark(id);
        }
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
    pub(crate) fn delete(&self, id: &str) -> bool {
        let mut store = self.lock();
        let removed = store.sessions.remove(id).is_some();
        store.recency.forget(id);
        if removed {
            store.deleted.insert(id.to_owned());
            if let Some(log) = &store.changes {
                log.mark(id);
            }
        }
        removed
    }

    /// Renames a session; false when there is none.
    pub(crate) fn rename(&self, id: &str, title: &str) -> bool {
        let mut store = self.lock();
        let store = &mut *store;
        match store.sessions.get_mut(id) {
            Some(s) => {
                s.user_title = Some(title.to_owned());
                s.seeded = false;
                store.recency.resize(id, session_bytes(s));
                store.enforce(id);
                if let Some(log) = &store.changes {
                    log.mark(id);
                }
                true
            }
            None => false,
        }
    }

    /// Puts back a session read from `--state` (it counts as the user's, not seeded).
    pub(crate) fn restore(&self, mut session: Session) {
        session.seeded = false;
        let mut store = self.lock();
        let id = session.id.clone();
        // Restored sessions count against the byte budget like any other.
        store.recency.touch(&id, session_bytes(&session));
        store.sessions.insert(id.clone(), session);
        store.enforce(&id);
    }

    /// From now on, `log` is told the id of every session appended to, renamed or
    /// deleted (`--state` writes them).
    pub(crate) fn track_changes(&self, log: Arc<crate::session_changes::ChangeLog>) {
        self.lock().changes = Some(log);
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

    /// Issue 11 #4: the store kept every turn, bounded only by counts (10,000 sessions
    /// × 1,000 messages of any size), and found the oldest by scanning every session.
    #[test]
    fn the_store_keeps_within_its_byte_budget_forgetting_the_least_recently_active() {
        let s = Sessions::default();
        s.set_budget(1 << 20);
        let big = "x".repeat(50_000);
        for i in 0..100 {
            s.append(&format!("websocket_{i}"), "user", big.clone());
            assert!(s.bytes() <= 1 << 20, "{} bytes after {i}", s.bytes());
        }
        assert!(s.get("websocket_99").is_some(), "the newest stays");
        assert!(s.get("websocket_0").is_none(), "the oldest went");
        // Touching an old session keeps it: activity, not creation, decides.
        let survivor = s.list().last().unwrap().id.clone();
        s.append(&survivor, "user", "still here");
        for i in 100..110 {
            s.append(&format!("websocket_{i}"), "user", big.clone());
        }
        assert!(s.get(&survivor).is_some());
        // One session alone over the budget keeps its newest messages.
        for _ in 0..30 {
            s.append("websocket_one", "user", big.clone());
        }
        assert!(s.bytes() <= 1 << 20);
        assert!(s.get("websocket_one").unwrap().messages.len() >= 19);
        assert!(s.delete("websocket_one"));
        assert_eq!(s.bytes(), s.list().iter().map(session_bytes).sum::<usize>());
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
