//! What is decided about a connection before the WebSocket exists: its URL parameters,
//! its chaos (faults, RNG, refusal, and which attempt this is: `chaos.attempt`).

use std::sync::Arc;

use super::params::{self, Params};
use crate::app::App;
use crate::chaos::ConnectionChaos;
use crate::chaos::connection::Sources;
use crate::chaos::handshake::Refusal;
use crate::rng;

/// Everything a connection starts with.
pub(crate) struct Setup {
    /// The connection's id (`c7`), given at the handshake so a refused one has one too.
    pub(crate) id: String,
    pub(crate) params: Params,
    /// Problems with the URL, sent to the client as `error` frames once it is connected.
    pub(crate) errors: Vec<String>,
    /// Set when a `reject` or `refuse_first` fault refuses the handshake.
    pub(crate) refusal: Option<Refusal>,
    /// The connection's chaos: its faults by stage, its RNG, its connect timer.
    pub(crate) chaos: ConnectionChaos,
}

impl Setup {
    pub(crate) fn new(app: &Arc<App>, query: &str) -> Setup {
        let (params, mut errors) = params::parse(query);
        let library = app.library();
        let profiles = params
            .chaos
            .clone()
            .unwrap_or_else(|| app.config.chaos.clone());
        let seed = params.seed.unwrap_or(app.config.seed);
        // Seeded from the seed and the URL alone, so the same URL and seed give the same
        // faults however many other connections run.
        let rng = rng::derive(seed, &format!("/ws?{}", params::without_run(query)), 0);
        let attempt = app.attempts.next(&format!("/ws?{query}"));
        let sources = Sources {
            profiles,
            inline: &params.faults,
            pinned: params
                .scenario
                .as_deref()
                .and_then(|n| library.get(n))
                .map(|s| &s.chaos[..]),
        };
        let (chaos, refusal, chaos_errors) =
            ConnectionChaos::at_handshake(&*library, sources, rng, attempt);
        errors.extend(chaos_errors);
        Setup {
            id: app.next_connection_id(),
            params,
            errors,
            refusal,
            chaos,
        }
    }
}
