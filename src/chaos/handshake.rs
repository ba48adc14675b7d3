//! Faults decided before a WebSocket exists: `reject` and `refuse_first` answer the
//! upgrade request with an HTTP error, as a real backend does for bad auth (403),
//! rate limits (429) or an outage (503).

use std::collections::HashMap;
use std::sync::Mutex;

use super::fault::Fault;
use crate::rng::Rng;

/// Distinct URLs whose attempts are counted before the counts start over.
pub(crate) const MAX_URLS: usize = 100_000;

/// Connection attempts per URL since the server started (for `attempt` triggers and
/// `refuse_first`). Keyed by the whole URL, so another `seed` starts a fresh count.
#[derive(Debug, Default)]
pub(crate) struct Attempts(Mutex<Counts>);

/// The counts, and the bytes their keys hold.
#[derive(Debug, Default)]
struct Counts {
    map: HashMap<String, u32>,
    bytes: usize,
}

/// URLs longer than this are counted under a hash of themselves, so one 60 KB URL
/// costs no more than a short one.
const LONG_URL: usize = 256;
/// Bytes of URL keys kept at most (with [`MAX_URLS`]); past either the counts restart.
pub(crate) const MAX_URL_BYTES: usize = 4 << 20;

impl Attempts {
    /// Counts one more attempt to `url`; returns its 1-based number.
    pub(crate) fn next(&self, url: &str) -> u32 {
        let key = if url.len() > LONG_URL {
            use std::hash::{DefaultHasher, Hash, Hasher};
            // `DefaultHasher::new()` has fixed keys: the same URL, the same key.
            let mut h = DefaultHasher::new();
            url.hash(&mut h);
            format!("#{:016x}:{}", h.finish(), url.len())
        } else {
            url.to_owned()
        };
        let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !counts.map.contains_key(&key)
            && (counts.map.len() >= MAX_URLS || counts.bytes + key.len() > MAX_URL_BYTES)
        {
            // A run that opens endless distinct URLs must not grow this without bound;
            // forgetting counts only restarts `refuse_first` sequences.
            counts.map.clear();
            counts.bytes = 0;
        }
        if !counts.map.contains_key(&key) {
            counts.bytes += key.len();
        }
        let n = counts.map.entry(key).or_insert(0);
        *n += 1;
        *n
    }

    /// Starts every count afresh (the control API's `reset`).
    pub(crate) fn clear(&self) {
        let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        counts.map.clear();
        counts.bytes = 0;
    }

    /// Bytes the URL keys hold now.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).bytes
    }
}

/// A refused handshake: the HTTP status and body, and the fault that refused it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Refusal {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) fault: &'static str,
}

/// Decides whether attempt number `attempt` is refused: the first handshake fault
/// (in `faults/reject.rs`, `faults/refuse_first.rs`) that refuses it. Draws from `rng`
/// only for `reject` faults with a probability whose other conditions hold.
pub(crate) fn decide(faults: &[Fault], attempt: u32, rng: &mut Rng) -> Option<Refusal> {
    faults.iter().find_map(|fault| {
        let (status, body) = fault.effect.refuses(&fault.trigger, attempt, rng)?;
        Some(Refusal {
            status,
            body,
            fault: fault.name(),
        })
    })
}

#[cfg(test)]
mod attempt_tests {
    use super::*;

    /// Issue 11 #4: 100,000 unique 60 KB URLs were kept whole (6 GB).
    #[test]
    fn the_attempt_counter_is_bounded_by_bytes() {
        let attempts = Attempts::default();
        let long = "x".repeat(60_000);
        for i in 0..2_000 {
            assert_eq!(attempts.next(&format!("{long}{i}")), 1);
            assert!(attempts.bytes() <= MAX_URL_BYTES);
        }
        assert!(attempts.bytes() < 200_000, "{}", attempts.bytes());
        assert_eq!(
            attempts.next(&format!("{long}1999")),
            2,
            "a long URL counts"
        );
        assert_eq!(attempts.next("chaos=a"), 1);
        assert_eq!(attempts.next("chaos=a"), 2);
    }
}
