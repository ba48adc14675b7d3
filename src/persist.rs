//! `--state DIR`: the sessions the user chats, renames and deletes survive a restart,
//! kept in the real backend's on-disk layout ([`crate::sessions_disk`]).
//!
//! The store only notes which sessions changed ([`ChangeLog`], in `session_changes.rs`); one writer task
//! (`server/state_writer.rs`) writes
//! them (and `_index.json`) shortly after, each file atomically, so a kill at any
//! moment leaves every file whole. Sessions seeded from scenarios are not written:
//! they come from the library at every start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tracing::{info, warn};

use crate::session_changes::ChangeLog;
use crate::sessions::Sessions;
use crate::sessions_disk::{self, INDEX, IndexEntry};

/// The state directory and what the writer knows of it.
#[derive(Debug)]
pub(crate) struct StateDir {
    pub(crate) dir: PathBuf,
    log: Arc<ChangeLog>,
    /// `_index.json` as last written, by file key.
    index: Mutex<BTreeMap<String, IndexEntry>>,
}

/// Why `--state DIR` cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("--state {dir}: {why}; pass a folder pawmock may create and write (or leave --state out)")]
pub(crate) struct StateError {
    dir: String,
    why: String,
}

impl StateDir {
    /// Waits until the store marks a session changed (the writer task's bell; the writer
    /// lives in `server/state_writer.rs` because it reaches the `App`'s store).
    pub(crate) async fn changed(&self) {
        self.log.changed().await;
    }

    /// Creates the folder if needed, reads every session in it into `sessions`, and
    /// has `sessions` report changes from now on.
    pub(crate) fn open(dir: &Path, sessions: &Sessions) -> Result<StateDir, StateError> {
        let err = |why: String| StateError {
            dir: dir.display().to_string(),
            why,
        };
        std::fs::create_dir_all(dir).map_err(|e| err(format!("cannot create it: {e}")))?;
        let (read, problems) =
            sessions_disk::read_dir(dir).map_err(|e| err(format!("cannot read it: {e}")))?;
        for p in problems {
            warn!("{p}; left out");
        }
        let now = SystemTime::now();
        let mut index = BTreeMap::new();
        for r in &read {
            let session = sessions_disk::to_session(r, now);
            index.insert(r.key.clone(), sessions_disk::index_entry(&session));
            sessions.restore(session);
        }
        info!("--state {}: {} sessions loaded", dir.display(), read.len());
        let log = Arc::new(ChangeLog::default());
        sessions.track_changes(log.clone());
        Ok(StateDir {
            dir: dir.to_owned(),
            log,
            index: Mutex::new(index),
        })
    }

    /// Writes what changed: each changed session's file (or its removal) and the index.
    pub(crate) fn flush(&self, sessions: &Sessions) {
        let changed = self.log.take();
        if changed.is_empty() {
            return;
        }
        let mut index = self.index.lock().unwrap_or_else(|e| e.into_inner());
        for id in changed {
            let key = sessions_disk::safe_key(&id);
            let path = self.dir.join(format!("{key}.json"));
            match sessions.get(&id).filter(|s| !s.seeded) {
                Some(session) => {
                    let bytes = serde_json::to_vec_pretty(&sessions_disk::session_file(&session))
                        .unwrap_or_default();
                    match sessions_disk::write_atomic(&path, &bytes) {
                        Ok(()) => {
                            index.insert(key, sessions_disk::index_entry(&session));
                        }
                        Err(e) => warn!("--state: cannot write {}: {e}", path.display()),
                    }
                }
                None => {
                    if let Err(e) = std::fs::remove_file(&path)
                        && e.kind() != std::io::ErrorKind::NotFound
                    {
                        warn!("--state: cannot remove {}: {e}", path.display());
                    }
                    index.remove(&key);
                }
            }
        }
        let bytes = serde_json::to_vec_pretty(&*index).unwrap_or_default();
        if let Err(e) = sessions_disk::write_atomic(&self.dir.join(INDEX), &bytes) {
            warn!(
                "--state: cannot write {}: {e}",
                self.dir.join(INDEX).display()
            );
        }
    }
}
