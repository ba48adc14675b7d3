//! Faults timed from connect: a `close` or `abort` without `events` fires on a timer
//! of its own (one branch of the loop), even when nothing plays.

use tokio::io::{AsyncRead, AsyncWrite};
use tracing::info;

use super::{Connection, End, Result};
use crate::chaos::{self, Fault};
use crate::playback::rng::Rng;

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<'_, S> {
    /// A `close` or `abort` fault timed from connect.
    pub(super) async fn connect_fault_fires(&mut self, fault: Fault) -> Result {
        *self.fault_counts.entry(fault.name()).or_default() += 1;
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
        match fault.effect {
            chaos::fault::Effect::Close { code, reason } => self.chaos_close(code, reason).await,
            _ => Err(End::ChaosAbort),
        }
    }
}

/// The first `close`/`abort` fault timed from connect whose attempt and probability
/// conditions hold, and when it fires.
pub(super) fn connect_timer(
    faults: &[Fault],
    attempt: u32,
    rng: &mut Rng,
    connected_at: tokio::time::Instant,
) -> Option<(tokio::time::Instant, Fault)> {
    use rand::RngExt;
    faults
        .iter()
        .filter(|f| f.is_connect_timer())
        .filter(|f| f.trigger.attempt.is_none_or(|n| n == attempt))
        .filter(|f| f.trigger.probability.is_none_or(|p| rng.random_bool(p)))
        .map(|f| {
            (
                crate::library::duration::later(connected_at, f.trigger.after.unwrap_or_default()),
                f.clone(),
            )
        })
        .min_by_key(|(at, _)| *at)
}
