//! The connection's loop: one `select!` over shutdown, a connect-timer fault, the
//! client's frames, the turn's next due event, pushes to every dashboard and the
//! control API's commands.

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_stream::wrappers::BroadcastStream;

use super::commands::Commanded;
use super::pushes::{Pushes, next_push};
use super::turn::ActiveTurn;
use super::{Connection, End};
use crate::protocol::Dialect;

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<'_, S> {
    /// Runs the `select!` until the connection ends, and says why.
    pub(super) async fn serve(&mut self) -> End {
        let shutdown = self.app.shutdown.clone();
        // One waiter for the whole connection: a new one per loop would register with
        // (and leave) the token's shared waiter list for every frame sent.
        let cancelled = shutdown.cancelled();
        tokio::pin!(cancelled);
        // Pushes go to dashboard connections only (the docs dialect has no such frames),
        // so the others never poll the channel, whose every poll takes its shared lock.
        // A stream, not `recv()` per loop: its wait stays registered between frames.
        let mut pushes: Option<Pushes> = None;
        // The control API's mailbox (its bell is one branch below).
        let live = self.ctl.live.clone();
        loop {
            if pushes.is_none() && self.wire.dialect() == Dialect::Dashboard {
                pushes = Some(BroadcastStream::new(self.app.pushes.subscribe()));
            }
            // What the control API shows, before the loop waits.
            self.sync_state();
            let due = self.active.as_deref().and_then(ActiveTurn::next_due);
            let timer = self.chaos.timer();
            let step = tokio::select! {
                biased;
                _ = &mut cancelled => Err(End::Shutdown),
                _ = sleep_until(timer), if timer.is_some() => {
                    let fault = self.chaos.take_timer().expect("timer is set");
                    Box::pin(self.connect_fault_fires(fault)).await
                }
                // The handlers are boxed: inlined, the largest of them (every action
                // the dashboard sends) would sit in every idle connection's task.
                frame = self.wire.next() => Box::pin(self.on_frame(frame)).await,
                _ = sleep_until(due), if due.is_some() => Box::pin(self.on_due()).await,
                Some(push) = next_push(&mut pushes), if pushes.is_some() => {
                    Box::pin(self.on_push(push)).await
                }
                _ = live.rung() => Box::pin(self.on_commands()).await,
            };
            if let Err(end) = step {
                return end;
            }
        }
    }
}

/// Sleeps until `due`; never wakes without one (the branch is off then).
pub(super) async fn sleep_until(due: Option<tokio::time::Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
