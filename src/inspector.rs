//! What the App keeps for the inspector (the page at `/__pawmock/`, whose routes are in
//! `server/inspector/`): the problems of the files that do not load now, and a signal
//! that they or the library changed. Its own module below `app`, so the App holds it
//! without importing the routes, which take the App.

use std::sync::{Arc, RwLock};

use tokio::sync::watch;

use crate::located::problem::Problem;

/// What the inspector needs beyond the library: the problems of the files that do not
/// load now (the library only holds what loaded), and a signal that either changed.
pub(crate) struct State {
    problems: RwLock<Arc<Vec<Problem>>>,
    /// Bumped on every library swap or problem change; the live feed waits on it.
    changes: watch::Sender<u64>,
}

impl Default for State {
    fn default() -> Self {
        State {
            problems: RwLock::new(Arc::new(Vec::new())),
            changes: watch::channel(0).0,
        }
    }
}

impl State {
    /// The problems of every file that does not load now (start-up and each reload).
    pub(crate) fn set_problems(&self, problems: Vec<Problem>) {
        *self.problems.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(problems);
        self.changed();
    }

    pub(crate) fn problems(&self) -> Arc<Vec<Problem>> {
        self.problems
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The library or the problems changed: live views refresh their scenario list.
    pub(crate) fn changed(&self) {
        self.changes.send_modify(|n| *n += 1);
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}
