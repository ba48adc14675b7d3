//! A turn's start: the message stored, the turn chosen, its schedule (shared by the
//! connections that play it the same way) and its faults, and the turn set playing.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tracing::{debug, info, warn};

use super::commands::Commanded;
use super::turn::{self, ActiveTurn};
use super::{Connection, Result};
use crate::choose::{Choice, choose};
use crate::playback::{Timing, expand_turn};
use crate::protocol::{Dialect, Event};
use crate::rng;

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<'_, S> {
    /// A chat message: the turn in flight ends, the message is stored, a turn is
    /// chosen and its schedule and faults set up, and what is due at once goes out.
    pub(super) async fn start_turn(&mut self, text: String, session_id: Option<String>) -> Result {
        self.cancel_active().await?;
        // A message that names a session makes it the current one: later messages
        // without one, errors and an idle `stop` then carry the session the client uses.
        if let Some(named) = &session_id {
            self.session_id.clone_from(named);
        }
        let session_id = session_id.unwrap_or_else(|| self.session_id.clone());
        self.app.sessions.append(&session_id, "user", &text);
        let library = self.app.library();
        let counts = &self.turn_counts;
        let choice = choose(&library, self.params.scenario.as_deref(), &text, |name| {
            counts.get(name).copied().unwrap_or(0)
        });
        self.turns += 1;
        let (name, turn_index, body_owner) = match choice {
            Choice::Missing(message) => {
                warn!(conn = %self.id, "{message}");
                self.wire
                    .send(&mut self.ctl, &Event::Error { message }, &session_id)
                    .await?;
                return self
                    .wire
                    .send(&mut self.ctl, &Event::StreamEnd, &session_id)
                    .await;
            }
            Choice::Turn { scenario, turn } => {
                // The name is copied only for a scenario's first turn on this connection.
                match self.turn_counts.get_mut(&scenario.name) {
                    Some(n) => *n += 1,
                    None => {
                        self.turn_counts.insert(scenario.name.clone(), 1);
                    }
                }
                (
                    scenario.name.clone(),
                    turn,
                    turn::BodyRef::Scenario(scenario, turn),
                )
            }
            Choice::Fallback(body) => (
                "(fallback)".to_owned(),
                0,
                turn::BodyRef::Owned(Arc::new(body)),
            ),
        };
        let timing = self.timing_for(&body_owner);
        let index = self.turn_counts.get(&name).copied().unwrap_or(0) as u64;
        let (segment, rng) = match &body_owner {
            turn::BodyRef::Scenario(s, i) => {
                self.app.schedules.expand(s, *i, &timing, self.seed, index)
            }
            turn::BodyRef::Owned(body) => {
                let mut rng = rng::derive(self.seed, &name, index);
                (Arc::new(expand_turn(body, &timing, &mut rng)), rng)
            }
        };
        info!(conn = %self.id, scenario = %name, turn = turn_index + 1, session = %session_id, events = segment.events.len(), "turn started");
        self.turn_metric = Some(self.app.metrics.turn_started(&name));
        self.ctl.record(crate::control::What::TurnStarted {
            scenario: name.clone(),
            turn: self.turns,
            session: session_id.clone(),
            trigger: "message".into(),
        });
        let scenario = match &body_owner {
            turn::BodyRef::Scenario(s, _) => Some(&s.chaos[..]),
            turn::BodyRef::Owned(_) => None,
        };
        let injected = std::mem::take(&mut self.ctl.next_faults);
        let faults = self.chaos.turn_faults(&*library, scenario, injected, |name| {
            debug!(conn = %self.id, "chaos profile `{name}` is gone; the turn plays without it");
        });
        let chaos = self
            .chaos
            .turn(u32::try_from(self.turns).unwrap_or(u32::MAX), faults);
        let mut turn = Box::new(ActiveTurn::new(
            name,
            session_id,
            timing,
            rng,
            segment,
            chaos,
            &mut self.chaos.rng,
        ));
        turn.for_dashboard = self.wire.dialect() == Dialect::Dashboard;
        turn.scripted = body_owner.is_scripted();
        self.active = Some(turn);
        self.control_new_turn();
        // Events due at once (stream_start, everything at speed 0) go out now.
        self.on_due().await
    }

    /// The timing a turn plays with: the scenario's, then the URL's, times the speed.
    pub(super) fn timing_for(&self, body: &turn::BodyRef) -> Timing {
        let mut timing = Timing::default();
        if let turn::BodyRef::Scenario(s, _) = body {
            timing = timing.with(&s.timing);
        }
        timing = timing.with(&self.params.timing);
        timing.speed = timing.speed.times(self.speed);
        timing
    }
}
