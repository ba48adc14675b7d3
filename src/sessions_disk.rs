//! The real backend's sessions on disk (addendum D): one JSON array per session,
//! `<safe_key>.json`, plus `_index.json`. Read by `--state` at start and by
//! `pawmock import-sessions`; written by `--state`, each file atomically.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::sessions::{Session, StoredMessage};
use crate::timestamp::iso8601;

/// The index file's name.
pub(crate) const INDEX: &str = "_index.json";

/// One entry of a session file.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub(crate) struct DiskMessage {
    #[serde(default)]
    pub(crate) id: String,
    pub(crate) role: String,
    pub(crate) content: String,
    /// Naive server local time (`2026-02-10T14:03:22.101234`), read as UTC.
    #[serde(default)]
    pub(crate) timestamp: String,
    #[serde(default)]
    pub(crate) metadata: Value,
}

/// One entry of `_index.json`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub(crate) struct IndexEntry {
    #[serde(default)]
    pub(crate) title: String,
    #[serde(default)]
    pub(crate) channel: String,
    #[serde(default)]
    pub(crate) created: String,
    #[serde(default)]
    pub(crate) last_activity: String,
    #[serde(default)]
    pub(crate) message_count: usize,
    #[serde(default)]
    pub(crate) preview: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) user_title: Option<String>,
}

/// The file name a session is stored under: the key with `:` and `/` (and anything
/// else a file name cannot safely hold) replaced by `_`. A leading `_` or `.` is
/// replaced too, so no session is taken for the index or a hidden file.
pub(crate) fn safe_key(id: &str) -> String {
    let mut key: String = id
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if key.starts_with(['_', '.']) || key.is_empty() {
        key.insert(0, 's');
    }
    key
}

/// Whether a file in a sessions folder holds a session (addendum D: not `_*.json`,
/// not `*_compaction.json`, not `*.tmp`), and if so its key.
pub(crate) fn session_key_of(file_name: &str) -> Option<&str> {
    let key = file_name.strip_suffix(".json")?;
    if key.is_empty()
        || key.starts_with('_')
        || key.starts_with('.')
        || key.ends_with("_compaction")
    {
        return None;
    }
    Some(key)
}

/// A naive or UTC ISO 8601 time (`2026-02-10T14:03:22.101234`, with or without
/// `+00:00`/`Z`), read as UTC as the real backend's readers do.
pub(crate) fn parse_time(text: &str) -> Option<SystemTime> {
    let t = text.trim();
    let t = t
        .strip_suffix("+00:00")
        .or_else(|| t.strip_suffix('Z'))
        .unwrap_or(t);
    humantime::parse_rfc3339_weak(t).ok()
}

/// The naive form the real backend writes: [`iso8601`] without its offset.
pub(crate) fn naive(t: SystemTime) -> String {
    let full = iso8601(t);
    full.strip_suffix("+00:00").unwrap_or(&full).to_owned()
}

/// A message id that stays the same each time a session is written: a version-4
/// UUID built from a hash of the session, position and text (the store keeps none).
fn message_id(session: &str, index: usize, content: &str) -> String {
    let hash = |salt: u8| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (salt, session, index, content).hash(&mut h);
        h.finish()
    };
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hash(1).to_le_bytes());
    bytes[8..].copy_from_slice(&hash(2).to_le_bytes());
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// A session as its file's JSON array.
pub(crate) fn session_file(s: &Session) -> Vec<DiskMessage> {
    s.messages
        .iter()
        .enumerate()
        .map(|(i, m)| DiskMessage {
            id: message_id(&s.id, i, &m.content),
            role: m.role.clone(),
            content: m.content.clone(),
            timestamp: naive(m.at),
            metadata: if m.role == "user" {
                json!({"action": "chat", "message": m.content})
            } else {
                Value::Object(Map::new())
            },
        })
        .collect()
}

/// A session's `_index.json` entry.
pub(crate) fn index_entry(s: &Session) -> IndexEntry {
    let title = s
        .messages
        .iter()
        .find(|m| m.role == "user")
        .map(|m| m.content.chars().take(80).collect())
        .unwrap_or_else(|| "New Chat".to_owned());
    IndexEntry {
        title,
        channel: s.channel.clone(),
        created: naive(s.created),
        last_activity: naive(s.last_activity),
        message_count: s.messages.len(),
        preview: s
            .messages
            .last()
            .map(|m| m.content.chars().take(120).collect())
            .unwrap_or_default(),
        user_title: s.user_title.clone(),
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, flushed to disk,
/// then renamed over it. A reader (or a restart after a kill) sees the old file or the
/// new one, never a part.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)
}

/// A session read from disk, with what went wrong reading it (if anything).
pub(crate) struct ReadSession {
    pub(crate) key: String,
    pub(crate) file: PathBuf,
    pub(crate) messages: Vec<DiskMessage>,
    pub(crate) index: Option<IndexEntry>,
}

/// Reads every session of a sessions folder, sorted by key. Files that are not
/// sessions are skipped; a session file that cannot be read is reported in the
/// second list (`file: why`), not fatal.
pub(crate) fn read_dir(dir: &Path) -> std::io::Result<(Vec<ReadSession>, Vec<String>)> {
    let index: BTreeMap<String, IndexEntry> = match std::fs::read(dir.join(INDEX)) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => BTreeMap::new(),
    };
    let mut sessions = Vec::new();
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(key) = session_key_of(&name) else {
            continue;
        };
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<Vec<DiskMessage>>(&b).map_err(|e| e.to_string()))
        {
            Ok(messages) => sessions.push(ReadSession {
                key: key.to_owned(),
                index: index.get(key).cloned(),
                file: path,
                messages,
            }),
            Err(e) => problems.push(format!(
                "{}: not a session file ({e}); a session is a JSON array of {{role, content, timestamp}}",
                path.display()
            )),
        }
    }
    sessions.sort_by(|a, b| a.key.cmp(&b.key));
    Ok((sessions, problems))
}

/// A session read from disk as the store keeps it.
pub(crate) fn to_session(read: &ReadSession, now: SystemTime) -> Session {
    let messages: Vec<StoredMessage> = read
        .messages
        .iter()
        .map(|m| StoredMessage {
            role: m.role.clone(),
            content: m.content.clone(),
            at: parse_time(&m.timestamp).unwrap_or(now),
        })
        .collect();
    let first = messages.first().map_or(now, |m| m.at);
    let last = messages.last().map_or(now, |m| m.at);
    let index = read.index.clone().unwrap_or_default();
    // The index knows the channel (`google_chat_1` is `google_chat`); the file name
    // alone does not.
    let channel = if index.channel.is_empty() {
        read.key.split('_').next().unwrap_or("websocket").to_owned()
    } else {
        index.channel.clone()
    };
    Session {
        id: read.key.clone(),
        title: None,
        user_title: index.user_title,
        channel,
        created: parse_time(&index.created).unwrap_or(first),
        last_activity: parse_time(&index.last_activity).unwrap_or(last).max(last),
        messages,
        seeded: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_session_files_are_sessions() {
        assert_eq!(session_key_of("websocket_ab.json"), Some("websocket_ab"));
        assert_eq!(session_key_of("telegram_42.json"), Some("telegram_42"));
        for skipped in [
            "_index.json",
            "_aliases.json",
            "websocket_ab_compaction.json",
            "websocket_ab.json.tmp",
            "x.tmp",
            "notes.txt",
        ] {
            assert_eq!(session_key_of(skipped), None, "{skipped}");
        }
    }

    #[test]
    fn the_channel_comes_from_the_index_when_it_has_one() {
        let read = |index: Option<IndexEntry>| ReadSession {
            key: "google_chat_77".into(),
            file: PathBuf::from("google_chat_77.json"),
            messages: Vec::new(),
            index,
        };
        let now = SystemTime::now();
        assert_eq!(to_session(&read(None), now).channel, "google");
        let entry = IndexEntry {
            channel: "google_chat".into(),
            ..IndexEntry::default()
        };
        assert_eq!(to_session(&read(Some(entry)), now).channel, "google_chat");
    }

    #[test]
    fn keys_are_safe_file_names() {
        assert_eq!(safe_key("websocket_1e0c-4a"), "websocket_1e0c-4a");
        assert_eq!(safe_key("websocket:1e0c:a1b2"), "websocket_1e0c_a1b2");
        assert_eq!(safe_key("../etc/passwd"), "s.._etc_passwd");
        assert_eq!(safe_key("_index"), "s_index");
    }

    #[test]
    fn naive_times_read_back_as_utc_to_the_microsecond() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_micros(1_770_732_202_101_234);
        let text = naive(t);
        assert_eq!(text, "2026-02-10T14:03:22.101234");
        assert_eq!(parse_time(&text), Some(t));
        assert_eq!(parse_time("2026-02-10T14:03:22.101234+00:00"), Some(t));
        assert_eq!(
            parse_time("2026-02-10T14:03:22"),
            Some(t - std::time::Duration::from_micros(101_234))
        );
        assert_eq!(parse_time("yesterday"), None);
    }
}
