//! Frames pushed to every dashboard connection at once (a reminder ringing, another
//! tab's turn), as the real backend broadcasts them: `App.pushes`, one more branch of the
//! loop on dashboard connections.

use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tracing::warn;

use super::{Connection, Result};
use crate::app::Push;
use crate::metrics::FrameKind;

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<'_, S> {
    /// Frames pushed to every dashboard connection (a reminder ringing).
    pub(super) async fn on_push(
        &mut self,
        push: std::result::Result<Push, BroadcastStreamRecvError>,
    ) -> Result {
        let frames = match push {
            Ok(push) if push.from.as_deref() == Some(self.id.as_str()) => return Ok(()),
            Ok(push) if !push.audience.includes(self.params.run.as_deref()) => return Ok(()),
            Ok(push) => push.frames,
            Err(BroadcastStreamRecvError::Lagged(n)) => {
                warn!(conn = %self.id, "{n} pushed frames skipped: the connection fell behind");
                return Ok(());
            }
        };
        for frame in frames.iter() {
            self.wire
                .feed(&mut self.ctl, FrameKind::PUSH, Some(frame.clone()))
                .await?;
        }
        Ok(self.wire.flush(&mut self.ctl).await?)
    }
}

/// What every dashboard connection receives at once (see `App::pushes`).
pub(super) type Pushes = BroadcastStream<Push>;

/// The next push; never resolves without a subscription (the branch is off then).
pub(super) async fn next_push(
    pushes: &mut Option<Pushes>,
) -> Option<std::result::Result<Push, BroadcastStreamRecvError>> {
    match pushes {
        Some(stream) => stream.next().await,
        None => std::future::pending().await,
    }
}
