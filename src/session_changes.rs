//! Which sessions changed: the session store marks ids here and the `--state` writer
//! (`persist.rs`) takes them. Its own module, below both, so the store does not import
//! the writer (which reaches the `App`).

use std::collections::HashSet;
use std::sync::Mutex;

use tokio::sync::Notify;

/// The ids of sessions changed since the writer last looked.
#[derive(Debug, Default)]
pub(crate) struct ChangeLog {
    dirty: Mutex<HashSet<String>>,
    wake: Notify,
}

impl ChangeLog {
    /// Notes a change of session `id` (cheap: called under the store's lock).
    pub(crate) fn mark(&self, id: &str) {
        let mut dirty = self.dirty.lock().unwrap_or_else(|e| e.into_inner());
        if !dirty.contains(id) {
            dirty.insert(id.to_owned());
        }
        drop(dirty);
        self.wake.notify_one();
    }

    /// The ids marked since the last call, clearing them.
    pub(crate) fn take(&self) -> HashSet<String> {
        std::mem::take(&mut *self.dirty.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Waits until a change is marked (one `mark` wakes one wait, even an earlier one).
    pub(crate) async fn changed(&self) {
        self.wake.notified().await;
    }
}
