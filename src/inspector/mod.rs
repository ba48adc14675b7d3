//! The inspector: a page at `/__pawmock/` that shows the scenarios (and the files that
//! failed to load), the live connections with each one's timeline, steers them through
//! the control API, and has a "Try it" chat box. Its HTML, CSS and JS are hand-written
//! and compiled into the binary (`assets.rs`), so it works offline and needs no build.
//!
//! Everything the page reads comes from the same places the control API reads: the
//! library snapshot, the current load problems ([`State`]), the registry and the
//! journal. Nothing here keeps books of its own.

mod assets;
mod feed;
mod scenarios;

use std::sync::{Arc, RwLock};

use tokio::sync::watch;
use warp::Filter;

use crate::app::App;
use crate::located::problem::Problem;

/// What the inspector needs beyond the library: the problems of the files that do not
/// load now (the library only holds what loaded), and a signal that either changed.
pub struct State {
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
    pub fn set_problems(&self, problems: Vec<Problem>) {
        *self.problems.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(problems);
        self.changed();
    }

    pub fn problems(&self) -> Arc<Vec<Problem>> {
        self.problems
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The library or the problems changed: live views refresh their scenario list.
    pub fn changed(&self) {
        self.changes.send_modify(|n| *n += 1);
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

/// The inspector's routes: the page and its assets, the scenario listing and the live
/// feed. Tried before the control API's routes, which answer 404 for any other
/// `/__pawmock/` path.
pub fn route(
    app: Arc<App>,
) -> impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone {
    use warp::Reply;
    assets::route()
        .or(scenarios::route(app.clone()))
        .unify()
        .map(|r: warp::http::Response<Vec<u8>>| r.into_response())
        .or(feed::route(app))
        .unify()
}

/// Why the control API refuses this client, as the feed's `problem` event and the
/// listing's JSON error (the same rule as the control API: the inspector shows every
/// client message and steers every connection).
pub(crate) fn refusal(app: &App, unauthorized: bool) -> serde_json::Value {
    use crate::control::Access;
    let (error, hint) = if unauthorized {
        (
            "the inspector needs the admin token",
            "open the page as /__pawmock/#token=TOKEN with the --admin-token value",
        )
    } else if app.control.access == Access::Off {
        (
            "the control API is off, and the inspector with it",
            "it is off with --no-admin, and with a --host beyond loopback unless --admin-token is set",
        )
    } else {
        (
            "the inspector answers loopback clients only",
            "open it from this machine, or start pawmock with --admin-token TOKEN",
        )
    };
    serde_json::json!({"error": error, "hint": hint})
}
