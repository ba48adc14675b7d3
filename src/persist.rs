//! `--state DIR`: the sessions the user chats, renames and deletes survive a restart,
//! kept in the real backend's on-disk layout ([`crate::sessions_disk`]).
//!
//! The store only notes which sessions changed ([`ChangeLog`], in `session_changes.rs`); one writer task writes
//! them (and `_index.json`) shortly after, each file atomically, so a kill at any
//! moment leaves every file whole. Sessions seeded from scenarios are not written:
//! they come from the library at every start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tracing::{info, warn};

use crate::app::App;
use crate::session_changes::ChangeLog;
use crate::sessions::Sessions;
use crate::sessions_disk::{self, INDEX, IndexEntry};

/// How long the writer waits after a change for more before writing: a streamed turn
/// changes its session twice (question, answer) and many turns may end together.
const SETTLE: Duration = Duration::from_millis(50);

/// The state directory and what the writer knows of it.
#[derive(Debug)]
pub struct StateDir {
    pub dir: PathBuf,
    log: Arc<ChangeLog>,
    /// `_index.json` as last written, by file key.
    index: Mutex<BTreeMap<String, IndexEntry>>,
}

/// Why `--state DIR` cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("--state {dir}: {why}; pass a folder pawmock may create and write (or leave --state out)")]
pub struct StateError {
    dir: String,
    why: String,
}

impl StateDir {
    /// Creates the folder if needed, reads every session in it into `sessions`, and
    /// has `sessions` report changes from now on.
    pub fn open(dir: &Path, sessions: &Sessions) -> Result<StateDir, StateError> {
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
    pub fn flush(&self, sessions: &Sessions) {
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

/// Writes changes as they come. Runs until aborted; the server then calls
/// [`StateDir::flush`] once more, after every connection has stored its last answer.
pub async fn write_changes(app: Arc<App>, state: Arc<StateDir>) {
    loop {
        state.log.changed().await;
        tokio::time::sleep(SETTLE).await;
        let (app, state) = (app.clone(), state.clone());
        // File writes block: off the runtime's workers.
        let _ = tokio::task::spawn_blocking(move || state.flush(&app.sessions)).await;
    }
}
