//! The verification summary: what the client did under each fault, per run label, read
//! from the journal alone (a pure function of its entries).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::journal::{Entry, What};

/// Why a turn was cancelled, when the client never saw that message answered.
pub(crate) const UNANSWERED_WHY: &[&str] = &["connection closed", "fault"];

/// The figures of one run label.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub(crate) struct RunSummary {
    pub(crate) run: Option<String>,
    /// WebSocket handshakes, refused ones included.
    pub(crate) attempts: u64,
    /// Handshakes a chaos fault refused.
    pub(crate) refused: u64,
    /// Connections opened.
    pub(crate) connections: u64,
    /// Attempts after the first.
    pub(crate) reconnects: u64,
    /// For each server-side close, abort or refusal followed by another handshake of the
    /// run: the milliseconds between them.
    pub(crate) reconnect_ms: Vec<f64>,
    /// Chat messages sent again on a later connection after the server closed the one
    /// where they got no `stream_end`.
    pub(crate) resent_messages: Vec<String>,
    /// `stop` actions the client sent.
    pub(crate) stops: u64,
    pub(crate) turns_completed: u64,
    pub(crate) turns_cancelled: u64,
    /// Connections closed by the server first (faults, the API, shutdown) and by the client.
    pub(crate) server_closes: u64,
    pub(crate) client_closes: u64,
}

#[derive(Default)]
struct RunState {
    summary: RunSummary,
    /// When the last server-side close or refusal happened, waiting for a reconnect.
    closed_at: Option<f64>,
    /// Messages left unanswered by a connection that ended.
    unanswered: HashSet<String>,
}

/// Summaries per run label (`None`: connections without `?run=`), in label order.
pub(crate) fn summarize<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Vec<RunSummary> {
    let mut runs: BTreeMap<Option<String>, RunState> = BTreeMap::new();
    // The chat each connection is waiting on an answer for.
    let mut waiting: HashMap<&str, String> = HashMap::new();
    for e in entries {
        let label = e.run.as_deref().map(str::to_owned);
        let run = runs.entry(label.clone()).or_insert_with(|| RunState {
            summary: RunSummary {
                run: label,
                ..RunSummary::default()
            },
            ..RunState::default()
        });
        let s = &mut run.summary;
        match &e.what {
            What::Handshake { .. } => {
                s.attempts += 1;
                if s.attempts > 1 {
                    s.reconnects += 1;
                }
                if let Some(at) = run.closed_at.take() {
                    s.reconnect_ms.push(((e.t_ms - at) * 10.0).round() / 10.0);
                }
            }
            What::Refused { .. } => {
                s.refused += 1;
                run.closed_at = Some(e.t_ms);
            }
            What::Opened { .. } => s.connections += 1,
            What::ClientFrame {
                action, message, ..
            } => match (action.as_str(), message) {
                ("chat", Some(text)) => {
                    if run.unanswered.remove(text) {
                        s.resent_messages.push(text.clone());
                    }
                    waiting.insert(&*e.conn, text.clone());
                }
                ("stop", _) => s.stops += 1,
                _ => {}
            },
            What::TurnEnded { .. } => {
                s.turns_completed += 1;
                waiting.remove(&*e.conn);
            }
            What::TurnCancelled { why, .. } => {
                s.turns_cancelled += 1;
                if !UNANSWERED_WHY.contains(&why.as_str()) {
                    waiting.remove(&*e.conn);
                }
            }
            What::Closed { by, .. } => {
                if by == "server" {
                    s.server_closes += 1;
                    run.closed_at = Some(e.t_ms);
                } else {
                    s.client_closes += 1;
                }
                if let Some(text) = waiting.remove(&*e.conn) {
                    run.unanswered.insert(text);
                }
            }
            _ => {}
        }
    }
    runs.into_values().map(|r| r.summary).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, t_ms: f64, conn: &str, what: What) -> Entry {
        Entry {
            seq,
            at: std::time::SystemTime::UNIX_EPOCH,
            t_ms,
            conn: conn.into(),
            run: Some("r".into()),
            what,
        }
    }

    fn chat(text: &str) -> What {
        What::ClientFrame {
            action: "chat".into(),
            message: Some(text.into()),
            text: String::new(),
            truncated: false,
        }
    }

    #[test]
    fn a_scripted_reconnect_is_counted_timed_and_its_resend_found() {
        let hs = || What::Handshake {
            path_and_query: "/ws?run=r".into(),
            attempt: 1,
        };
        let opened = || What::Opened {
            dialect: "docs".into(),
            scenario: None,
            session: "s".into(),
        };
        let entries = vec![
            entry(1, 0.0, "c1", hs()),
            entry(2, 1.0, "c1", opened()),
            entry(3, 5.0, "c1", chat("hello")),
            entry(
                4,
                6.0,
                "c1",
                What::TurnStarted {
                    scenario: "x".into(),
                    turn: 1,
                    session: "s".into(),
                    trigger: "message".into(),
                },
            ),
            entry(
                5,
                100.0,
                "c1",
                What::Closed {
                    code: None,
                    reason: String::new(),
                    end: "aborted by chaos (no close frame)".into(),
                    by: "server".into(),
                },
            ),
            entry(
                6,
                100.0,
                "c1",
                What::TurnCancelled {
                    scenario: "x".into(),
                    frames: 3,
                    why: "connection closed".into(),
                },
            ),
            entry(7, 350.0, "c2", hs()),
            entry(8, 351.0, "c2", opened()),
            entry(9, 360.0, "c2", chat("hello")),
            entry(
                10,
                400.0,
                "c2",
                What::TurnEnded {
                    scenario: "x".into(),
                    frames: 9,
                },
            ),
            entry(11, 410.0, "c2", chat("again")),
            entry(
                12,
                420.0,
                "c2",
                What::ClientFrame {
                    action: "stop".into(),
                    message: None,
                    text: String::new(),
                    truncated: false,
                },
            ),
            entry(
                13,
                421.0,
                "c2",
                What::TurnCancelled {
                    scenario: "x".into(),
                    frames: 1,
                    why: "stop".into(),
                },
            ),
            entry(
                14,
                500.0,
                "c2",
                What::Closed {
                    code: Some(1000),
                    reason: String::new(),
                    end: "client closed (1000)".into(),
                    by: "client".into(),
                },
            ),
        ];
        let all = summarize(&entries);
        assert_eq!(all.len(), 1);
        let s = &all[0];
        assert_eq!((s.attempts, s.connections, s.reconnects), (2, 2, 1));
        assert_eq!(s.reconnect_ms, [250.0]);
        assert_eq!(s.resent_messages, ["hello"]);
        assert_eq!(s.stops, 1);
        assert_eq!((s.turns_completed, s.turns_cancelled), (1, 2));
        assert_eq!((s.server_closes, s.client_closes), (1, 1));
    }
}
