//! One WebSocket connection: its state and the loop that serves it.
//!
//! A single task runs a `select!` over the client's frames, the next due event of the
//! turn being played, and shutdown. So a client's `stop`, ping or close is handled while
//! a turn plays, and a slow client slows only its own socket.
//!
//! Where each part lives: the socket and every frame written (`wire`), the loop
//! (`select_loop`), the greeting (`greeting`), a pinned scenario's `on_connect` steps
//! (`on_connect`), client frames (`client_frames`) and the actions they carry
//! (`actions`), a turn's start (`turn_start`), playing what is due (`playing`) and
//! carrying out one delivery (`deliver`), a turn's end (`turn_end`), faults timed from
//! connect (`connect_fault`), the dashboard dialect around a turn (`dashboard`), pushes
//! to every dashboard (`pushes`), the control API's commands (`control`; what every
//! kind of connection shares in carrying them out: `commands`), and the connection's
//! end and close frame (`closing`).

mod actions;
mod client_frames;
mod closing;
mod commands;
mod connect_fault;
mod control;
mod dashboard;
mod deliver;
mod greeting;
pub(crate) mod hooks;
mod net;
mod on_connect;
pub(crate) mod params;
mod playing;
mod pushes;
pub(crate) mod raw;
mod select_loop;
pub(crate) mod setup;
mod turn;
mod turn_end;
mod turn_start;
mod violation;
mod wire;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tracing::info;

use crate::app::App;
use crate::chaos::ConnectionChaos;
use crate::metrics::OpenConnection;
use crate::protocol::{Dialect, DialectChoice};
use crate::sessions::new_session_id;
use crate::speed::Speed;

use closing::End;
pub(crate) use params::Params;
pub(crate) use setup::Setup;
use turn::ActiveTurn;
use wire::Wire;

// Also used by `raw.rs`, the loop of a connection that replays a raw recording.
use select_loop::sleep_until;

/// The log target of connection lines (`--log-level pawmock::connection=debug`).
#[cfg(test)]
pub(crate) const LOG_TARGET: &str = module_path!();

/// A connection's state.
pub(crate) struct Connection<'a, S> {
    app: Arc<App>,
    id: String,
    params: Params,
    /// The socket, the dialect frames are rendered in, and every frame written.
    wire: Wire<'a, S>,
    /// The session chats go to unless a frame names another.
    session_id: String,
    seed: u64,
    speed: Speed,
    /// Messages sent to each scenario so far (for `turn` rules and recordings).
    turn_counts: HashMap<String, u32>,
    turns: u64,
    /// Boxed: the per-turn state is allocated when a turn starts, not carried by every
    /// idle connection's task.
    active: Option<Box<ActiveTurn>>,
    /// The connection's chaos: RNG, connect timer, each turn's faults, faults counted.
    chaos: ConnectionChaos,
    /// Keeps this connection in `pawmock_connections_open` (see `metrics.rs`).
    open_metric: OpenConnection,
    /// The playing turn's `pawmock_turns_completed/cancelled` counters.
    turn_metric: Option<crate::metrics::TurnCounters>,
    /// The control plane's side: registry entry, command channel, hold and pace.
    ctl: control::Ctl,
}

type Result<T = ()> = std::result::Result<T, End>;

impl<'a, S: AsyncRead + AsyncWrite + Unpin> Connection<'a, S> {
    pub(crate) fn new(
        app: Arc<App>,
        id: String,
        setup: Setup,
        ws: &'a mut WebSocketStream<S>,
    ) -> Self {
        let Setup {
            params, mut chaos, ..
        } = setup;
        chaos.opened(tokio::time::Instant::now());
        let choice = params.dialect.unwrap_or(app.config.dialect);
        let dialect = match choice {
            DialectChoice::Dashboard => Dialect::Dashboard,
            DialectChoice::Docs | DialectChoice::Auto => Dialect::Docs,
        };
        let facts = crate::control::registry::Facts {
            dialect: choice.to_string(),
            scenario: params.scenario.clone(),
            session: params.resume_session.clone().unwrap_or_default(),
        };
        let ctl = control::Ctl::new(&app, &id, params.run.clone(), &params.query, facts);
        let open_metric = app.metrics.connection_opened(choice);
        Connection {
            ctl,
            open_metric,
            turn_metric: None,
            seed: params.seed.unwrap_or(app.config.seed),
            speed: params.speed.unwrap_or(app.config.speed),
            session_id: match &params.resume_session {
                // The real backend resumes only a stored `websocket_<x>` session and
                // binds a fresh id otherwise (addendum C.4); the docs dialect adopts it.
                Some(id) if dialect == Dialect::Docs || dashboard::resumable(&app, id) => {
                    id.clone()
                }
                _ => new_session_id(),
            },
            app,
            id,
            wire: Wire::new(ws, choice, dialect),
            params,
            turn_counts: HashMap::new(),
            turns: 0,
            active: None,
            chaos,
        }
    }

    /// Serves the connection until the client leaves or the server shuts down.
    pub(crate) async fn run(mut self, param_errors: Vec<String>) {
        let opened = Instant::now();
        self.ctl
            .live
            .update(|f| f.session = self.session_id.clone());
        self.ctl.record(crate::control::What::Opened {
            dialect: self.wire.choice().to_string(),
            scenario: self.params.scenario.clone(),
            session: self.session_id.clone(),
        });
        info!(
            conn = %self.id,
            scenario = self.params.scenario.as_deref().unwrap_or("-"),
            dialect = %self.wire.choice(),
            session = %self.session_id,
            query = %self.params.query,
            "connection opened"
        );
        // A connection fault timed at 0 ("close at once") fires before any greeting.
        let end = match self.chaos.take_immediate() {
            Some(fault) => Box::pin(self.connect_fault_fires(fault)).await.err(),
            None => None,
        };
        let end = match end {
            Some(end) => end,
            None => match Box::pin(self.greet(param_errors)).await {
                Ok(()) => match Box::pin(self.start_on_connect()).await {
                    Ok(()) => self.serve().await,
                    Err(end) => end,
                },
                Err(end) => end,
            },
        };
        self.close(end, opened).await;
        // On `ChaosAbort` the caller drops the socket without a close frame: that is the
        // fault itself.
    }
}

/// Serves an accepted WebSocket (used by the server after the upgrade).
///
/// The `Setup` stays boxed until the connection is built from it: a task future keeps
/// room for everything it captures for the connection's whole life, and a `Setup` is
/// about 560 bytes against the box's 8.
pub(crate) async fn serve<S>(app: Arc<App>, mut ws: WebSocketStream<S>, mut setup: Box<Setup>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let errors = std::mem::take(&mut setup.errors);
    let id = std::mem::take(&mut setup.id);
    let conn_id = id.clone();
    net::guarded(&conn_id, &mut ws, move |ws| {
        Box::pin(async move {
            // Out of its box in a block of its own: the box is freed now, not when the
            // connection ends.
            let setup = {
                let boxed = setup;
                *boxed
            };
            Connection::new(app, id, setup, ws).run(errors).await
        })
    })
    .await;
}

#[cfg(test)]
mod tests;
