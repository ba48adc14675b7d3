//! The greeting: what a client receives on connecting, before it sends anything.

use tokio::io::{AsyncRead, AsyncWrite};
use tracing::warn;

use super::{Connection, Result};
use crate::protocol::{Dialect, Event};

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<'_, S> {
    /// What the client receives on connecting, before any message: the dashboard's
    /// `connection_info`, a resumed session's history, and what is wrong with the URL.
    pub(super) async fn greet(&mut self, param_errors: Vec<String>) -> Result {
        if self.wire.dialect() == Dialect::Dashboard {
            let event = Event::ConnectionInfo {
                connection_id: self.session_id.clone(),
            };
            self.wire
                .send(&mut self.ctl, &event, &self.session_id)
                .await?;
        }
        if let Some(id) = self
            .params
            .resume_session
            .clone()
            .filter(|id| *id == self.session_id)
        {
            let messages = self.app.sessions.history(&id);
            let event = Event::SessionSwitched {
                session_id: id,
                messages,
            };
            self.wire
                .send(&mut self.ctl, &event, &self.session_id)
                .await?;
        }
        let param_errors = param_errors.into_iter().chain(self.freeze_problem());
        for message in param_errors {
            warn!(conn = %self.id, "{message}");
            self.wire
                .send(&mut self.ctl, &Event::Error { message }, &self.session_id)
                .await?;
        }
        if let Some(name) = &self.params.scenario {
            let library = self.app.library();
            if library.get(name).is_none() {
                let message = format!(
                    "scenario `{name}` does not exist; known scenarios: {}",
                    library.names().join(", ")
                );
                warn!(conn = %self.id, "{message}");
                self.wire
                    .send(&mut self.ctl, &Event::Error { message }, &self.session_id)
                    .await?;
            }
        }
        Ok(())
    }
}
