//! `GET /__pawmock/inspector/feed`: the page's live view as server-sent events.
//!
//! - `scenarios`: the listing (`scenarios.rs`), at once and after every reload;
//! - `connections`: the live connections, as `GET /__pawmock/connections` lists them,
//!   whenever the list may have changed;
//! - `journal`: new journal entries in `seq` order, as a page of `GET /__pawmock/journal`;
//! - `problem`: the control API refused this client (`{"error", "hint"}`); the feed ends.
//!
//! Changes are batched: after something changes, the feed waits [`BATCH`] and then sends
//! everything new at once, so a busy server costs the page a few events a second, not
//! one per frame; the journal's `watch` never queues, so a slow page cannot make the
//! server hold more than the journal itself. The stream ends on shutdown (graceful
//! shutdown waits for open responses).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::Stream;
use serde_json::{Value, json};
use tokio::sync::watch;
use warp::Filter;
use warp::sse::Event;

use crate::app::App;
use crate::control::auth::Verdict;

/// How long the feed gathers changes before sending them.
const BATCH: Duration = Duration::from_millis(100);

/// Journal entries sent at most in one event: a page opened on a long-running server
/// starts from the recent past, and a page watching a load test gets the latest
/// entries of each batch (`skipped` says how many it missed), not megabytes a second.
const MAX_ENTRIES: usize = 2000;

pub(super) fn route(
    app: Arc<App>,
) -> impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone {
    warp::get()
        .and(warp::path!("__pawmock" / "inspector" / "feed"))
        .and(crate::server::peer::remote())
        .and(warp::header::optional::<String>("authorization"))
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .map(
            move |peer: Option<SocketAddr>, auth: Option<String>, query: String| {
                use warp::Reply;
                // EventSource cannot send headers: the page passes the token as ?token=.
                let token = form_urlencoded::parse(query.as_bytes())
                    .find(|(k, _)| k == "token")
                    .map(|(_, v)| format!("Bearer {v}"));
                let verdict = app
                    .control
                    .access
                    .allows(peer, auth.as_deref().or(token.as_deref()));
                let first = match verdict {
                    Verdict::Allowed => None,
                    Verdict::Hidden => Some(super::refusal(&app, false)),
                    Verdict::Unauthorized => Some(super::refusal(&app, true)),
                };
                warp::sse::reply(warp::sse::keep_alive().stream(feed(app.clone(), first)))
                    .into_response()
            },
        )
}

/// What one feed has sent so far.
struct Feed {
    app: Arc<App>,
    library: watch::Receiver<u64>,
    journal: watch::Receiver<u64>,
    /// The next journal seq to send.
    since: u64,
    /// The connection list last sent, to send it again only when it changed.
    connections: Option<Value>,
    queue: VecDeque<Event>,
    started: bool,
    /// Set when the client was refused: send the problem, then end.
    refused: Option<Value>,
    done: bool,
}

fn feed(
    app: Arc<App>,
    refused: Option<Value>,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    let state = Feed {
        library: app.inspector.subscribe(),
        journal: app.control.journal.subscribe(),
        app,
        since: 0,
        connections: None,
        queue: VecDeque::new(),
        started: false,
        refused,
        done: false,
    };
    futures_util::stream::unfold(state, |mut f| async move {
        loop {
            if let Some(event) = f.queue.pop_front() {
                return Some((Ok(event), f));
            }
            if f.done {
                return None;
            }
            if let Some(problem) = f.refused.take() {
                // A refused client gets the reason and nothing else.
                f.done = true;
                let event = Event::default().event("problem").data(problem.to_string());
                return Some((Ok(event), f));
            }
            if !f.started {
                f.started = true;
                f.library.mark_unchanged();
                f.journal.mark_unchanged();
                f.queue.push_back(scenarios(&f.app));
                f.push_journal();
                f.push_connections();
                continue;
            }
            let shutdown = f.app.shutdown.clone();
            let (library, journal) = tokio::select! {
                _ = shutdown.cancelled() => return None,
                changed = f.library.changed() => (changed.is_ok(), false),
                changed = f.journal.changed() => (false, changed.is_ok()),
            };
            if !library && !journal {
                return None;
            }
            tokio::time::sleep(BATCH).await;
            if f.library.has_changed().unwrap_or(false) || library {
                f.library.mark_unchanged();
                f.queue.push_back(scenarios(&f.app));
            }
            if f.journal.has_changed().unwrap_or(false) || journal {
                f.journal.mark_unchanged();
                f.push_journal();
                f.push_connections();
            }
        }
    })
}

impl Feed {
    fn push_journal(&mut self) {
        let mut page = self.app.control.journal.page(None, self.since);
        if page.next_seq < self.since {
            // Cannot happen while seqs only count up; start over rather than stall.
            page = self.app.control.journal.page(None, 0);
        }
        self.since = page.next_seq;
        let skipped = page.entries.len().saturating_sub(MAX_ENTRIES);
        page.entries.drain(..skipped);
        if page.entries.is_empty() {
            return;
        }
        let data = json!({
            "entries": page.entries,
            "next_seq": page.next_seq,
            "dropped": page.dropped,
            "skipped": skipped,
        });
        self.queue.push_back(
            Event::default()
                .event("journal")
                .id(page.next_seq.to_string())
                .data(data.to_string()),
        );
    }

    fn push_connections(&mut self) {
        let list = Value::Array(
            self.app
                .control
                .registry
                .list(None)
                .iter()
                .map(|c| c.to_json())
                .collect(),
        );
        if self.connections.as_ref() == Some(&list) {
            return;
        }
        self.queue
            .push_back(Event::default().event("connections").data(list.to_string()));
        self.connections = Some(list);
    }
}

fn scenarios(app: &App) -> Event {
    Event::default()
        .event("scenarios")
        .data(super::scenarios::listing(app).to_string())
}
