//! The inspector: a page at `/__pawmock/` that shows the scenarios (and the files that
//! failed to load), the live connections with each one's timeline, steers them through
//! the control API, and has a "Try it" chat box. Its HTML, CSS and JS are hand-written
//! and compiled into the binary (`assets.rs`), so it works offline and needs no build.
//!
//! Everything the page reads comes from the same places the control API reads: the
//! library snapshot, the current load problems ([`crate::inspector::State`]), the
//! registry and the journal. Nothing here keeps books of its own.

mod assets;
mod feed;
mod scenarios;

use std::sync::Arc;

use warp::Filter;

use crate::app::App;

/// The inspector's routes: the page and its assets, the scenario listing and the live
/// feed. Tried before the control API's routes, which answer 404 for any other
/// `/__pawmock/` path.
pub(crate) fn route(
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
