//! The client's actions: a chat message starts a turn; `stop`, switching or starting a
//! session, a plan's answer, and the dashboard's other actions (answered by `backend`).

use tokio::io::{AsyncRead, AsyncWrite};
use tracing::{debug, info};

use super::{Connection, Result};
use crate::metrics::FrameKind;
use crate::protocol::{Action, DialectChoice, Event, PlanAnswer};
use crate::sessions::new_session_id;

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<'_, S> {
    /// What a decoded client frame asks for.
    pub(super) async fn on_action(&mut self, action: Action) -> Result {
        if self.wire.choice() == DialectChoice::Auto
            && let Some(d) = action.implied_dialect()
        {
            debug!(conn = %self.id, dialect = %d, "dialect detected");
            self.wire.detected(d);
            self.open_metric.detected(self.wire.choice());
        }
        self.ctl.why = match &action {
            Action::Stop => "stop",
            Action::Chat { .. } => "new message",
            Action::SwitchSession { .. } => "switch session",
            _ => "new session",
        };
        match action {
            Action::Chat {
                text, session_id, ..
            } => self.start_turn(text, session_id).await,
            Action::Stop => match self.active.take() {
                Some(turn) => self.cancel(turn).await,
                None => {
                    self.wire
                        .send(&mut self.ctl, &Event::StreamEnd, &self.session_id)
                        .await
                }
            },
            Action::SwitchSession { session_id } => {
                self.leave_active().await?;
                self.session_id = session_id.clone();
                let messages = self.app.sessions.history(&session_id);
                let event = Event::SessionSwitched {
                    session_id,
                    messages,
                };
                self.wire
                    .send(&mut self.ctl, &event, &self.session_id)
                    .await
            }
            Action::NewSession => {
                self.leave_active().await?;
                self.session_id = new_session_id();
                let event = Event::NewSession {
                    session_id: self.session_id.clone(),
                };
                self.wire
                    .send(&mut self.ctl, &event, &self.session_id)
                    .await
            }
            Action::Plan { answer, .. } => self.answer_plan(answer).await,
            Action::Authenticate => Ok(()),
            Action::Legacy { name, frame } => {
                let library = self.app.library();
                let data = library.backend();
                let ctx = crate::backend::Ctx {
                    data: &data,
                    state: &self.app.backend,
                    panels: &self.app.panels,
                    now: std::time::SystemTime::now(),
                };
                let replies = crate::backend::answer(&ctx, &name, &frame);
                if name == "run_intention" {
                    let run = crate::backend::intention_run::IntentionRun::start(
                        &ctx,
                        &frame,
                        self.app.config.speed,
                    );
                    if let Some(run) = run {
                        self.app.announce_intention_run(run);
                    }
                }
                debug!(conn = %self.id, action = %name, replies = replies.len(), "dashboard action answered");
                // Sent as they are: the replies to dashboard actions have one shape only.
                for reply in replies {
                    let frame = Some(reply.to_string());
                    self.wire
                        .feed(&mut self.ctl, FrameKind::REPLY, frame)
                        .await?;
                    self.wire.flush(&mut self.ctl).await?;
                }
                Ok(())
            }
        }
    }

    async fn answer_plan(&mut self, answer: PlanAnswer) -> Result {
        match self.active.as_mut() {
            Some(turn) if turn.is_waiting_for_plan() => {
                turn.answer_plan(
                    Some(answer),
                    tokio::time::Instant::now(),
                    &mut self.chaos.rng,
                );
                info!(conn = %self.id, ?answer, "plan answered");
                self.on_due().await
            }
            _ => {
                let verb = if answer == PlanAnswer::Approve {
                    "approve"
                } else {
                    "reject"
                };
                let message = format!("No active plan to {verb}");
                let event = Event::Error { message };
                self.wire
                    .send(&mut self.ctl, &event, &self.session_id)
                    .await
            }
        }
    }
}
