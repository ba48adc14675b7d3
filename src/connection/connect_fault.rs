//! Faults timed from connect: a `close` or `abort` without `events` fires on a timer
//! of its own (one branch of the loop), even when nothing plays. A raw connection's
//! are counted, logged and journaled by the same [`applied`].

use tokio::io::{AsyncRead, AsyncWrite};
use tracing::info;

use super::control::Ctl;
use super::{Connection, End, Result};
use crate::chaos::{ConnectionChaos, Delivery, Fault};

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<'_, S> {
    /// A `close` or `abort` fault timed from connect.
    pub(super) async fn connect_fault_fires(&mut self, fault: Fault) -> Result {
        applied(&mut self.chaos, &self.ctl, &self.id, &fault);
        match fault.effect.on_timer() {
            Delivery::Close { code, reason } => self.chaos_close(code, reason).await,
            _ => Err(End::ChaosAbort),
        }
    }
}

/// A fault timed from connect acts (on any kind of connection): counted for the close
/// line and `/metrics`, logged and journaled.
pub(super) fn applied(chaos: &mut ConnectionChaos, ctl: &Ctl, conn: &str, fault: &Fault) {
    chaos.acted(fault.kind());
    ctl.metrics().fault_applied(fault.name());
    info!(conn = %conn, fault = fault.name(), event = 0, "fault injected");
    ctl.record(crate::control::What::FaultApplied {
        fault: fault.name().into(),
        stage: "connect".into(),
        trigger: format!(
            "{:?} after connect",
            fault.trigger.after.unwrap_or_default()
        ),
    });
}
