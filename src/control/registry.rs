//! The registry of live connections: each one's public facts and the sender of its
//! command channel. Nothing else reaches into a connection (DESIGN §11).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::commands::Envelope;

/// Commands a connection may have queued before the API answers 429 for it.
pub(crate) const COMMAND_BACKLOG: usize = 16;

/// What a connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ConnState {
    /// No turn in flight.
    Idle,
    Playing,
    /// Held by `POST …/pause`.
    Paused,
    /// Held at the marker named by `?freeze=`.
    Frozen,
}

impl ConnState {
    pub(crate) fn name(self) -> &'static str {
        match self {
            ConnState::Idle => "idle",
            ConnState::Playing => "playing",
            ConnState::Paused => "paused",
            ConnState::Frozen => "frozen",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<ConnState> {
        Some(match s {
            "idle" => ConnState::Idle,
            "playing" => ConnState::Playing,
            "paused" => ConnState::Paused,
            "frozen" => ConnState::Frozen,
            _ => return None,
        })
    }

    fn from_u8(n: u8) -> ConnState {
        match n {
            1 => ConnState::Playing,
            2 => ConnState::Paused,
            3 => ConnState::Frozen,
            _ => ConnState::Idle,
        }
    }
}

/// Facts that change rarely (a dialect detected, a session switched).
#[derive(Debug, Clone)]
pub(crate) struct Facts {
    pub(crate) dialect: String,
    pub(crate) scenario: Option<String>,
    pub(crate) session: String,
}

/// One live connection as the API sees it. Shared by the connection (which writes) and
/// the registry (which reads); the busy counters are atomics so writing them is cheap.
pub(crate) struct Live {
    pub(crate) id: String,
    pub(crate) run: Option<String>,
    pub(crate) path_and_query: String,
    /// When the WebSocket opened; written as ISO 8601 only when the API reads it (every
    /// connection opening formatted and kept a string nobody may ask for).
    pub(crate) opened_at: std::time::SystemTime,
    facts: Mutex<Facts>,
    state: AtomicU8,
    frames_sent: AtomicU64,
    /// Commands waiting for the connection, and the bell that wakes it. Not an mpsc
    /// channel: one allocates about a kilobyte up front, for every idle connection.
    mailbox: Mutex<Mailbox>,
    bell: Notify,
}

#[derive(Default)]
struct Mailbox {
    queue: std::collections::VecDeque<Envelope>,
    /// Set when the connection ends; commands are refused from then on.
    closed: bool,
}

impl Live {
    pub(crate) fn state(&self) -> ConnState {
        ConnState::from_u8(self.state.load(Ordering::Relaxed))
    }

    /// Sets the state; returns whether it changed.
    pub(crate) fn set_state(&self, s: ConnState) -> bool {
        self.state.swap(s as u8, Ordering::Relaxed) != s as u8
    }

    pub(crate) fn set_frames_sent(&self, n: u64) {
        self.frames_sent.store(n, Ordering::Relaxed);
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut Facts)) {
        f(&mut self.facts.lock().unwrap_or_else(|e| e.into_inner()));
    }

    pub(crate) fn facts(&self) -> Facts {
        self.facts.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Queues a command; `Err` when the connection is gone or has too many queued.
    pub(crate) fn command(&self, envelope: Envelope) -> Result<(), NotQueued> {
        {
            let mut mailbox = self.mailbox.lock().unwrap_or_else(|e| e.into_inner());
            if mailbox.closed {
                return Err(NotQueued::Gone);
            }
            if mailbox.queue.len() >= COMMAND_BACKLOG {
                return Err(NotQueued::Busy);
            }
            mailbox.queue.push_back(envelope);
        }
        // A permit is kept when the connection is not waiting, so no command is missed.
        self.bell.notify_one();
        Ok(())
    }

    /// Waits until a command may be waiting (for the connection's `select!`).
    pub(crate) async fn rung(&self) {
        self.bell.notified().await;
    }

    /// The next waiting command, if any.
    pub(crate) fn next_command(&self) -> Option<Envelope> {
        self.mailbox
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .queue
            .pop_front()
    }

    /// Refuses commands from now on and drops the waiting ones (their callers learn
    /// that the connection closed).
    pub(crate) fn close(&self) {
        let waiting = {
            let mut mailbox = self.mailbox.lock().unwrap_or_else(|e| e.into_inner());
            mailbox.closed = true;
            std::mem::take(&mut mailbox.queue)
        };
        drop(waiting);
    }

    /// The JSON the API answers for this connection.
    pub(crate) fn to_json(&self) -> Value {
        let facts = self.facts();
        json!({
            "id": self.id,
            "run": self.run,
            "path_and_query": self.path_and_query,
            "dialect": facts.dialect,
            "scenario": facts.scenario,
            "session": facts.session,
            "state": self.state(),
            "frames_sent": self.frames_sent.load(Ordering::Relaxed),
            "opened_at": crate::timestamp::iso8601(self.opened_at),
        })
    }
}

/// Why a command was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotQueued {
    /// [`COMMAND_BACKLOG`] commands wait already.
    Busy,
    /// The connection has ended.
    Gone,
}

/// Every live connection, by the number in its id (so listing is in opening order).
#[derive(Default)]
pub(crate) struct Registry {
    conns: Mutex<BTreeMap<u64, Arc<Live>>>,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Live>>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a connection; the receiver is its end of the command channel.
    pub(crate) fn add(
        &self,
        id: &str,
        run: Option<String>,
        path_and_query: String,
        facts: Facts,
    ) -> Arc<Live> {
        let live = Arc::new(Live {
            id: id.to_owned(),
            run,
            path_and_query,
            opened_at: std::time::SystemTime::now(),
            facts: Mutex::new(facts),
            state: AtomicU8::new(ConnState::Idle as u8),
            frames_sent: AtomicU64::new(0),
            mailbox: Mutex::new(Mailbox::default()),
            bell: Notify::new(),
        });
        self.lock().insert(number(id), live.clone());
        live
    }

    pub(crate) fn remove(&self, id: &str) {
        self.lock().remove(&number(id));
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<Live>> {
        let n = id.strip_prefix('c')?.parse::<u64>().ok()?;
        self.lock().get(&n).cloned()
    }

    /// Live connections, of one run if given, in opening order.
    pub(crate) fn list(&self, run: Option<&str>) -> Vec<Arc<Live>> {
        self.lock()
            .values()
            .filter(|c| run.is_none_or(|r| c.run.as_deref() == Some(r)))
            .cloned()
            .collect()
    }
}

/// `c12` → 12 (ids come from `App::next_connection_id`).
fn number(id: &str) -> u64 {
    id.trim_start_matches('c').parse().unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> (
        Envelope,
        tokio::sync::oneshot::Receiver<Result<Value, super::super::ApiError>>,
    ) {
        let (reply, answer) = tokio::sync::oneshot::channel();
        (
            Envelope {
                command: crate::control::commands::Command::Pause,
                reply,
            },
            answer,
        )
    }

    fn facts() -> Facts {
        Facts {
            dialect: "docs".into(),
            scenario: None,
            session: "s".into(),
        }
    }

    #[tokio::test]
    async fn the_mailbox_rings_holds_a_bounded_backlog_and_refuses_once_closed() {
        let registry = Registry::default();
        let live = registry.add("c4", Some("r".into()), "/ws?run=r".into(), facts());
        assert!(Arc::ptr_eq(&registry.get("c4").unwrap(), &live));
        assert_eq!(registry.list(Some("r")).len(), 1);
        assert!(registry.list(Some("x")).is_empty());
        let mut answers = Vec::new();
        for _ in 0..COMMAND_BACKLOG {
            let (e, a) = envelope();
            live.command(e).unwrap();
            answers.push(a);
        }
        assert_eq!(live.command(envelope().0), Err(NotQueued::Busy));
        // The bell was rung while nobody waited: the permit is kept.
        tokio::time::timeout(std::time::Duration::from_secs(1), live.rung())
            .await
            .expect("rung");
        assert!(live.next_command().is_some());
        live.close();
        assert!(live.next_command().is_none(), "closing drops what waits");
        assert_eq!(live.command(envelope().0), Err(NotQueued::Gone));
        // The callers of dropped commands learn it.
        assert!(answers.pop().unwrap().await.is_err());
        registry.remove("c4");
        assert!(registry.get("c4").is_none());
    }
}
