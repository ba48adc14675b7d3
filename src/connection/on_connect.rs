//! A scenario's `on_connect` steps: played after the handshake on connections pinned to
//! it, with no chat message (inbox updates, pushes), as a turn of their own.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};

use super::commands::Commanded;
use super::turn::{ActiveTurn, BodyRef};
use super::{Connection, Result};
use crate::control::What;
use crate::playback::Segment;
use crate::playback::schedule::expand_steps;
use crate::protocol::Event;
use crate::protocol::Scheduled;
use crate::rng;

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<'_, S> {
    /// Starts the pinned scenario's `on_connect` steps, if it has any.
    pub(super) async fn start_on_connect(&mut self) -> Result {
        let library = self.app.library();
        let Some(scenario) = self.params.scenario.as_deref().and_then(|n| library.get(n)) else {
            return Ok(());
        };
        if scenario.on_connect.is_empty() {
            return Ok(());
        }
        let name = scenario.name.clone();
        let timing = self.timing_for(&BodyRef::Scenario(scenario.clone(), 0));
        let mut rng = rng::derive(self.seed, &format!("{name}:on_connect"), 0);
        let mut events = expand_steps(&scenario.on_connect, &timing, &mut rng);
        // Streamed content needs its end; inbox updates and raw frames stand alone.
        if events.iter().any(|e| {
            matches!(
                e.event,
                Event::TextChunk { .. } | Event::Thinking { .. } | Event::ToolStart { .. }
            )
        }) {
            let at = events.last().map(|e| e.at).unwrap_or_default();
            events.push(Scheduled {
                at,
                event: Event::StreamEnd,
            });
        }
        let session = self.session_id.clone();
        self.ctl.record(What::TurnStarted {
            scenario: name.clone(),
            turn: 0,
            session: session.clone(),
            trigger: "on_connect".into(),
        });
        self.turn_metric = Some(self.app.metrics.turn_started(&name));
        let chaos = self.chaos.turn(0, Vec::new());
        self.active = Some(Box::new(ActiveTurn::new(
            name,
            session,
            timing,
            rng,
            Arc::new(Segment { events, gate: None }),
            chaos,
            &mut self.chaos.rng,
        )));
        self.control_new_turn();
        self.on_due().await
    }
}
