//! The journal: the one record of what happened on every connection, in order.
//!
//! A bounded ring buffer (by entries and by bytes) of [`Entry`]s with a monotonic `seq`.
//! The summary, `POST /__pawmock/wait` and the inspector's live view all read it; none
//! keeps books of its own. Subscribers learn of new entries through a `watch` of the
//! latest `seq` (a watch never queues, so a slow reader cannot make it grow).

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde::Serialize;
use tokio::sync::watch;

/// Client frame text kept per entry, in bytes; longer text is cut (and marked so).
pub(crate) const MAX_TEXT: usize = 1024;
/// Frame bodies kept per entry with `--journal-frames`, in bytes.
pub(crate) const MAX_BODY: usize = 4096;

/// The journal's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalConfig {
    /// Entries kept at most (`--journal-size`).
    pub size: usize,
    /// Bytes kept at most (an entry's size is estimated from its strings).
    pub max_bytes: usize,
    /// Keep the body of every frame sent (`--journal-frames`), not only its type.
    pub frames: bool,
}

impl Default for JournalConfig {
    fn default() -> Self {
        JournalConfig {
            size: 10_000,
            max_bytes: 16 << 20,
            frames: false,
        }
    }
}

/// One thing that happened.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Entry {
    pub(crate) seq: u64,
    /// Wall-clock time, written as ISO 8601 UTC (formatted only when read).
    #[serde(serialize_with = "iso8601")]
    pub(crate) at: SystemTime,
    /// Milliseconds since the server started (monotonic: for durations between entries).
    pub(crate) t_ms: f64,
    /// The connection id (`c7`), as in the log's `conn=`. Shared, not copied: a busy
    /// connection writes an entry per frame.
    #[serde(serialize_with = "shared_str")]
    pub(crate) conn: Arc<str>,
    /// The connection's `?run=` label.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "shared_opt_str"
    )]
    pub(crate) run: Option<Arc<str>>,
    #[serde(flatten)]
    pub(crate) what: What,
}

/// What an entry records; `kind` names it in JSON.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum What {
    /// A WebSocket handshake arrived.
    Handshake {
        path_and_query: String,
        attempt: u32,
    },
    /// A chaos fault refused the handshake with this HTTP status.
    Refused {
        path_and_query: String,
        status: u16,
        fault: String,
    },
    /// The WebSocket is open.
    Opened {
        dialect: String,
        scenario: Option<String>,
        session: String,
    },
    /// A client frame: the action it decoded to (`chat`, `stop`, …, or `invalid`) and
    /// its text, cut at [`MAX_TEXT`] bytes.
    ClientFrame {
        action: String,
        /// The chat text, for chat actions (what the summary compares re-sends by).
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        text: String,
        truncated: bool,
    },
    TurnStarted {
        scenario: String,
        turn: u64,
        session: String,
        /// `message` (a chat) or `on_connect` (a constant: no allocation per turn).
        trigger: Cow<'static, str>,
    },
    TurnEnded {
        scenario: String,
        frames: u64,
    },
    TurnCancelled {
        scenario: String,
        frames: u64,
        why: String,
    },
    FaultApplied {
        fault: String,
        /// `handshake`, `connect`, `turn`, or `control` (injected through the API).
        stage: String,
        trigger: String,
    },
    FrameSent {
        #[serde(rename = "type")]
        frame_type: Cow<'static, str>,
        /// When the schedule placed it, in ms from the turn's start (frames of a turn).
        #[serde(skip_serializing_if = "Option::is_none")]
        scheduled_ms: Option<f64>,
        /// When it was written, in ms from the turn's start.
        #[serde(skip_serializing_if = "Option::is_none")]
        actual_ms: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        body: Option<String>,
    },
    /// A marker step was reached.
    Marker {
        name: String,
    },
    /// The connection's state changed (`idle`, `playing`, `paused`, `frozen`).
    State {
        state: Cow<'static, str>,
    },
    /// A control API command reached the connection.
    Command {
        command: String,
        outcome: String,
    },
    Closed {
        /// The close code, when a close frame was sent (none for an abort or a vanished
        /// client).
        code: Option<u16>,
        /// The close frame's reason text.
        reason: String,
        /// How the connection ended, in words (`client closed (1000)`, `aborted by chaos`…).
        end: String,
        /// `client` or `server`: who closed first.
        by: String,
    },
}

impl What {
    /// Rough heap size, for the byte bound.
    fn weight(&self) -> usize {
        let s = |x: &str| x.len();
        let o = |x: &Option<String>| x.as_deref().map_or(0, str::len);
        match self {
            What::Handshake { path_and_query, .. } => s(path_and_query),
            What::Refused {
                path_and_query,
                fault,
                ..
            } => s(path_and_query) + s(fault),
            What::Opened {
                dialect,
                scenario,
                session,
            } => s(dialect) + o(scenario) + s(session),
            What::ClientFrame {
                action,
                message,
                text,
                ..
            } => s(action) + o(message) + s(text),
            What::TurnStarted {
                scenario,
                session,
                trigger,
                ..
            } => s(scenario) + s(session) + s(trigger),
            What::TurnEnded { scenario, .. } => s(scenario),
            What::TurnCancelled { scenario, why, .. } => s(scenario) + s(why),
            What::FaultApplied {
                fault,
                stage,
                trigger,
            } => s(fault) + s(stage) + s(trigger),
            What::FrameSent {
                frame_type, body, ..
            } => s(frame_type) + o(body),
            What::Marker { name } => s(name),
            What::State { state } => s(state),
            What::Command { command, outcome } => s(command) + s(outcome),
            What::Closed {
                reason, end, by, ..
            } => s(reason) + s(end) + s(by),
        }
    }
}

/// Fixed cost of an entry besides its strings.
const ENTRY_OVERHEAD: usize = std::mem::size_of::<Entry>() + 48;

struct Ring {
    entries: VecDeque<(Entry, usize)>,
    bytes: usize,
    next_seq: u64,
    /// Entries pushed out by the bounds since the last clear.
    dropped: u64,
}

/// The bounded, ordered record of what happened.
pub(crate) struct Journal {
    ring: Mutex<Ring>,
    config: JournalConfig,
    started: std::time::Instant,
    /// The wall-clock time of `started`: entries add their offset instead of asking the
    /// system clock each time.
    started_wall: SystemTime,
    latest: watch::Sender<u64>,
}

/// A page of entries and whether older ones were pushed out.
#[derive(Debug, Serialize)]
pub(crate) struct Page {
    pub(crate) entries: Vec<Entry>,
    /// The seq the next entry will have (pass it as `since` to poll for newer ones).
    pub(crate) next_seq: u64,
    /// Entries pushed out by the journal's bounds since it was last cleared.
    pub(crate) dropped: u64,
}

impl Journal {
    pub(crate) fn new(config: JournalConfig) -> Journal {
        Journal {
            ring: Mutex::new(Ring {
                entries: VecDeque::new(),
                bytes: 0,
                next_seq: 1,
                dropped: 0,
            }),
            config,
            started: std::time::Instant::now(),
            started_wall: SystemTime::now(),
            latest: watch::channel(0).0,
        }
    }

    /// Whether frame bodies are kept (`--journal-frames`).
    pub(crate) fn keeps_frames(&self) -> bool {
        self.config.frames
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends an entry; returns its seq.
    pub(crate) fn record(&self, conn: &str, run: Option<&str>, what: What) -> u64 {
        self.record_shared(&Arc::from(conn), &run.map(Arc::from), what)
    }

    /// Appends an entry of a connection that keeps its id and label shared.
    pub(crate) fn record_shared(&self, conn: &Arc<str>, run: &Option<Arc<str>>, what: What) -> u64 {
        self.record_batch(conn, run, std::iter::once((self.since_start(), what)))
    }

    /// The time since the journal started, to stamp an entry recorded later in a batch.
    pub(crate) fn since_start(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// Appends entries of one connection at once, each with the time it happened (from
    /// [`Journal::since_start`]): a connection sending a batch of frames takes the lock
    /// once, not once per frame. Returns the last seq.
    pub(crate) fn record_batch(
        &self,
        conn: &Arc<str>,
        run: &Option<Arc<str>>,
        items: impl IntoIterator<Item = (std::time::Duration, What)>,
    ) -> u64 {
        let label = ENTRY_OVERHEAD + conn.len() + run.as_deref().map_or(0, str::len);
        let mut evicted = Vec::new();
        let seq = {
            let mut ring = self.lock();
            for (since, what) in items {
                let weight = label + what.weight();
                let seq = ring.next_seq;
                ring.next_seq += 1;
                ring.entries.push_back((
                    Entry {
                        seq,
                        at: self.started_wall + since,
                        t_ms: since.as_secs_f64() * 1000.0,
                        conn: conn.clone(),
                        run: run.clone(),
                        what,
                    },
                    weight,
                ));
                ring.bytes += weight;
                while ring.entries.len() > self.config.size.max(1)
                    || (ring.bytes > self.config.max_bytes && ring.entries.len() > 1)
                {
                    let (old, w) = ring.entries.pop_front().expect("not empty");
                    ring.bytes -= w;
                    ring.dropped += 1;
                    evicted.push(old);
                }
            }
            ring.next_seq - 1
        };
        // Freed outside the lock.
        drop(evicted);
        // Waking subscribers takes the watch's lock; with none (the usual case under
        // load) there is nobody to wake, and `subscribe` catches up.
        if self.latest.receiver_count() > 0 {
            self.latest.send_replace(seq);
        }
        seq
    }

    /// Entries with `seq >= since`, of one run if given.
    pub(crate) fn page(&self, run: Option<&str>, since: u64) -> Page {
        let ring = self.lock();
        let start = ring.entries.partition_point(|(e, _)| e.seq < since);
        Page {
            entries: ring
                .entries
                .range(start..)
                .map(|(e, _)| e)
                .filter(|e| run.is_none_or(|r| e.run.as_deref() == Some(r)))
                .cloned()
                .collect(),
            next_seq: ring.next_seq,
            dropped: ring.dropped,
        }
    }

    /// Forgets every entry; seq numbers keep counting up.
    pub(crate) fn clear(&self) {
        let mut ring = self.lock();
        ring.entries.clear();
        ring.bytes = 0;
        ring.dropped = 0;
    }

    /// Learns of every new entry: the value is the latest seq.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        let ring = self.lock();
        let receiver = self.latest.subscribe();
        // Entries recorded while nobody listened did not update the value.
        self.latest.send_replace(ring.next_seq - 1);
        receiver
    }

    /// Entries and bytes held now (for tests of the bounds).
    #[cfg(test)]
    pub(crate) fn usage(&self) -> (usize, usize) {
        let ring = self.lock();
        (ring.entries.len(), ring.bytes)
    }
}

fn iso8601<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::timestamp::iso8601(*t))
}

/// Cuts `text` to at most `max` bytes on a char boundary; says whether it cut.
pub(crate) fn truncate(text: &str, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text.to_owned(), false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_owned(), true)
}

/// Frame types pawmock sends, kept without an allocation per frame.
const KNOWN_TYPES: &[&str] = &[
    "response_chunk",
    "message",
    "stream_start",
    "stream_end",
    "thinking",
    "tool_start",
    "tool_result",
    "system_event",
    "error",
    "inbox_update",
    "connection_info",
    "session_switched",
    "session_history",
    "new_session",
    "plan",
    "notification",
];

/// The `type` of a rendered frame, found without parsing it (`?` when it has none).
pub(crate) fn frame_type(frame: &str) -> Cow<'static, str> {
    let key = "\"type\":\"";
    let found = frame
        .find(key)
        .map(|i| &frame[i + key.len()..])
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("?");
    match KNOWN_TYPES.iter().find(|t| **t == found) {
        Some(t) => Cow::Borrowed(t),
        None if found == "?" => Cow::Borrowed("?"),
        None => Cow::Owned(found.to_owned()),
    }
}

fn shared_str<S: serde::Serializer>(v: &Arc<str>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v)
}

fn shared_opt_str<S: serde::Serializer>(v: &Option<Arc<str>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_str(v),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(s: &str) -> What {
        What::State {
            state: s.to_owned().into(),
        }
    }

    #[test]
    fn entries_are_ordered_and_the_ring_keeps_the_newest() {
        let j = Journal::new(JournalConfig {
            size: 3,
            ..JournalConfig::default()
        });
        for i in 0..5 {
            j.record("c1", Some("r"), state(&format!("s{i}")));
        }
        let page = j.page(None, 0);
        let seqs: Vec<u64> = page.entries.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [3, 4, 5]);
        assert_eq!(page.dropped, 2);
        assert_eq!(page.next_seq, 6);
        assert_eq!(j.page(None, 5).entries.len(), 1);
        assert!(j.page(Some("other"), 0).entries.is_empty());
        j.clear();
        assert!(j.page(None, 0).entries.is_empty());
        assert_eq!(j.record("c1", None, state("x")), 6, "seq keeps counting");
    }

    #[test]
    fn the_ring_is_bounded_by_bytes_too() {
        let j = Journal::new(JournalConfig {
            size: 1_000_000,
            max_bytes: 64 * 1024,
            frames: false,
        });
        let big = "x".repeat(4000);
        for _ in 0..1000 {
            j.record("c1", None, state(&big));
        }
        let (n, bytes) = j.usage();
        assert!(bytes <= 64 * 1024, "{bytes}");
        assert!(n < 20 && n > 5, "{n}");
    }

    #[test]
    fn subscribers_see_the_latest_seq() {
        let j = Journal::new(JournalConfig::default());
        let rx = j.subscribe();
        j.record("c1", None, state("a"));
        j.record("c1", None, state("b"));
        assert_eq!(*rx.borrow(), 2);
    }

    #[test]
    fn truncation_keeps_whole_characters_and_frame_types_are_found() {
        assert_eq!(truncate("héllo", 2), ("h".to_owned(), true));
        assert_eq!(truncate("abc", 3), ("abc".to_owned(), false));
        assert_eq!(
            frame_type(r#"{"type":"stream_chunk","content":"x"}"#),
            "stream_chunk"
        );
        assert_eq!(frame_type(r#"{"event":"x"}"#), "?");
    }
}
