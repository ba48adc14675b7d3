//! `GET /__pawmock/inspector/feed`: the page's live view as server-sent events.
//!
//! - `scenarios`: the listing (`scenarios.rs`), at once and after every reload;
//! - `connections`: the live connections, as `GET /__pawmock/connections` lists them;
//! - `journal`: new journal entries, in `seq` order, as a journal page.
//!
//! Changes are batched: after something changes, the feed waits [`BATCH`] and then
//! sends everything new at once, so a busy server costs the page a few events a
//! second, not one per frame. The stream ends on shutdown (graceful shutdown waits for
//! open responses).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use futures_util::Stream;
use tokio::sync::watch;
use warp::Filter;
use warp::sse::Event;

use crate::app::App;

/// How long the feed gathers changes before sending them.
const BATCH: Duration = Duration::from_millis(100);

pub(super) fn route(
    app: Arc<App>,
) -> impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone {
    warp::get()
        .and(warp::path!("__pawmock" / "inspector" / "feed"))
        .map(move || {
            use warp::Reply;
            warp::sse::reply(warp::sse::keep_alive().stream(feed(app.clone()))).into_response()
        })
}

/// What one feed has sent so far.
struct Feed {
    app: Arc<App>,
    library: watch::Receiver<u64>,
    /// Events ready to go out, oldest first.
    queue: std::collections::VecDeque<Event>,
    started: bool,
}

fn feed(app: Arc<App>) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    let library = app.inspector.subscribe();
    let state = Feed {
        app,
        library,
        queue: Default::default(),
        started: false,
    };
    futures_util::stream::unfold(state, |mut f| async move {
        loop {
            if let Some(event) = f.queue.pop_front() {
                return Some((Ok(event), f));
            }
            if !f.started {
                f.started = true;
                f.library.mark_unchanged();
                f.queue.push_back(scenarios(&f.app));
                continue;
            }
            let shutdown = f.app.shutdown.clone();
            tokio::select! {
                _ = shutdown.cancelled() => return None,
                changed = f.library.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                    tokio::time::sleep(BATCH).await;
                    f.library.mark_unchanged();
                    f.queue.push_back(scenarios(&f.app));
                }
            }
        }
    })
}

fn scenarios(app: &App) -> Event {
    Event::default()
        .event("scenarios")
        .data(super::scenarios::listing(app).to_string())
}
