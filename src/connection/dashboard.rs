//! What the dashboard dialect adds around a turn's frames, as the real backend sends
//! them (addendum C.1–C.3): the empty thinking event after `stream_start`, the answer
//! chunk that follows an agent error, and the `system_event`s every other dashboard
//! connection receives too.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;

use super::{Connection, Result};
use crate::app::Push;
use crate::protocol::{Dialect, Event, dialect};

/// The frames around one turn event, worked out while the event is borrowed from the
/// (shared) schedule, sent after.
#[derive(Default)]
pub(super) struct Around {
    /// The event's own frame also goes to every other dashboard connection.
    share: bool,
    /// A frame sent right after the event's own (to this connection only).
    follow: Option<String>,
    /// The turn's empty thinking event, right after `stream_start` (shared too).
    opening: Option<String>,
}

impl Around {
    /// `scripted`: the turn is a script (a recording already holds its opening).
    pub(super) fn of(event: &Event, dialect: Dialect, session: &str, scripted: bool) -> Around {
        if dialect != Dialect::Dashboard {
            return Around::default();
        }
        Around {
            share: dialect::reaches_every_dashboard(event),
            follow: dialect::follow_up(event, dialect),
            opening: (scripted && matches!(event, Event::StreamStart))
                .then(|| dialect::turn_thinking(session)),
        }
    }
}

impl Connection {
    /// Queues a turn event's frame and what goes around it (see [`Around`]).
    pub(super) async fn feed_turn_frame<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        frame: Option<String>,
        around: Around,
    ) -> Result {
        if around.share
            && let Some(f) = &frame
        {
            self.share(vec![f.clone()]);
        }
        self.feed_text(ws, frame).await?;
        if around.follow.is_some() {
            self.feed_text(ws, around.follow).await?;
        }
        if let Some(opening) = around.opening {
            self.share(vec![opening.clone()]);
            self.feed_text(ws, Some(opening)).await?;
        }
        Ok(())
    }

    /// Pushes frames to every other dashboard connection (none listening is no error).
    fn share(&self, frames: Vec<String>) {
        // This connection is one of the receivers; only push when there are others.
        if self.app.pushes.receiver_count() > 1 {
            let frames: Arc<[String]> = frames.into();
            let _ = self
                .app
                .pushes
                .send(Push::from_connection(&self.id, frames));
        }
    }
}
