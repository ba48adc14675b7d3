//! Faults timed from connect: a `close` or `abort` without `events` fires on a timer
//! of its own (one branch of the loop), even when nothing plays.

use tokio::io::{AsyncRead, AsyncWrite};
use tracing::info;

use super::{Connection, End, Result};
use crate::chaos::{Delivery, Fault};

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<'_, S> {
    /// A `close` or `abort` fault timed from connect.
    pub(super) async fn connect_fault_fires(&mut self, fault: Fault) -> Result {
        self.chaos.acted(fault.kind());
        self.app.metrics.fault_applied(fault.name());
        info!(conn = %self.id, fault = fault.name(), event = 0, "fault injected");
        self.ctl.record(crate::control::What::FaultApplied {
            fault: fault.name().into(),
            stage: "connect".into(),
            trigger: format!(
                "{:?} after connect",
                fault.trigger.after.unwrap_or_default()
            ),
        });
        match fault.effect.on_timer() {
            Delivery::Close { code, reason } => self.chaos_close(code, reason).await,
            _ => Err(End::ChaosAbort),
        }
    }
}
