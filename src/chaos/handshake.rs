//! Faults decided before a WebSocket exists: `reject` and `refuse_first` answer the
//! upgrade request with an HTTP error, as a real backend does for bad auth (403),
//! rate limits (429) or an outage (503).

use std::collections::HashMap;
use std::sync::Mutex;

use rand::RngExt;

use super::fault::{Effect, Fault};
use crate::playback::rng::Rng;

/// Distinct URLs whose attempts are counted before the counts start over.
pub const MAX_URLS: usize = 100_000;

/// Connection attempts per URL since the server started (for `attempt` triggers and
/// `refuse_first`). Keyed by the whole URL, so another `seed` starts a fresh count.
#[derive(Debug, Default)]
pub struct Attempts(Mutex<HashMap<String, u32>>);

impl Attempts {
    /// Counts one more attempt to `url`; returns its 1-based number.
    pub fn next(&self, url: &str) -> u32 {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_URLS && !map.contains_key(url) {
            // A run that opens endless distinct URLs must not grow this without bound;
            // forgetting counts only restarts `refuse_first` sequences.
            map.clear();
        }
        let n = map.entry(url.to_owned()).or_insert(0);
        *n += 1;
        *n
    }

    /// Starts every count afresh (the control API's `reset`).
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// A refused handshake: the HTTP status and body, and the fault that refused it.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub body: String,
    pub fault: &'static str,
}

/// Decides whether attempt number `attempt` is refused. Draws from `rng` only for
/// `reject` faults with a probability whose other conditions hold.
pub fn decide(faults: &[Fault], attempt: u32, rng: &mut Rng) -> Option<Refusal> {
    for fault in faults {
        match &fault.effect {
            Effect::RefuseFirst {
                count,
                status,
                body,
            } if attempt <= *count => {
                return Some(Refusal {
                    status: *status,
                    body: body.clone(),
                    fault: fault.name(),
                });
            }
            Effect::Reject { status, body } => {
                if fault.trigger.attempt.is_some_and(|n| n != attempt) {
                    continue;
                }
                if fault
                    .trigger
                    .probability
                    .is_some_and(|p| !rng.random_bool(p))
                {
                    continue;
                }
                return Some(Refusal {
                    status: *status,
                    body: body.clone(),
                    fault: fault.name(),
                });
            }
            _ => {}
        }
    }
    None
}
