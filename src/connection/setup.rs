//! What is decided about a connection before the WebSocket exists: its URL parameters,
//! its faults, its RNG, which attempt this is, and whether chaos refuses it.

use std::sync::Arc;

use super::params::{self, Params};
use crate::app::App;
use crate::chaos::handshake::{Refusal, decide};
use crate::chaos::{self, Fault};
use crate::rng::{self, Rng};

/// Everything a connection starts with.
pub struct Setup {
    /// The connection's id (`c7`), given at the handshake so a refused one has one too.
    pub id: String,
    pub params: Params,
    /// Problems with the URL, sent to the client as `error` frames once it is connected.
    pub errors: Vec<String>,
    /// The connection's faults at the handshake: profiles, inline faults, and a pinned
    /// scenario's connection faults. Handshake and connect-timer faults are taken from here.
    pub faults: Vec<Fault>,
    /// The profile names in force (`?chaos=`, else `--chaos`): turns look them up in the
    /// library they start with, so an edited profile applies from the next turn.
    pub profiles: Vec<String>,
    /// The URL's inline faults, parsed once.
    pub inline: Vec<Fault>,
    /// The connection's chaos RNG, seeded from the seed and the URL alone, so the same
    /// URL and seed give the same faults however many other connections run.
    pub rng: Rng,
    /// 1-based attempt number for this URL since the server started.
    pub attempt: u32,
    /// Set when a `reject` or `refuse_first` fault refuses the handshake.
    pub refusal: Option<Refusal>,
}

impl Setup {
    pub fn new(app: &Arc<App>, query: &str) -> Setup {
        let (params, mut errors) = params::parse(query);
        let library = app.library();
        let names = params
            .chaos
            .clone()
            .unwrap_or_else(|| app.config.chaos.clone());
        let (mut faults, chaos_errors) = chaos::resolve(&library, &names, &params.faults);
        errors.extend(chaos_errors);
        let inline = params
            .faults
            .iter()
            .filter_map(|f| chaos::inline::parse(f).ok())
            .collect();
        if let Some(s) = params.scenario.as_deref().and_then(|n| library.get(n)) {
            // A pinned scenario's connection faults belong to the connection; its other
            // faults are added turn by turn (and apply when the scenario is chosen by text too).
            faults.extend(
                s.chaos
                    .iter()
                    .filter(|f| f.is_handshake() || f.is_connect_timer())
                    .cloned(),
            );
        }
        let seed = params.seed.unwrap_or(app.config.seed);
        let mut rng = rng::derive(seed, &format!("/ws?{}", params::without_run(query)), 0);
        let attempt = app.attempts.next(&format!("/ws?{query}"));
        let refusal = decide(&faults, attempt, &mut rng);
        Setup {
            id: app.next_connection_id(),
            params,
            errors,
            faults,
            profiles: names,
            inline,
            rng,
            attempt,
            refusal,
        }
    }
}
