//! Schedules shared between the connections that play the same turn the same way.
//!
//! A turn's expansion is a pure function of the turn, the timing and the RNG, and the RNG
//! is derived from (seed, scenario, how many messages the connection sent to it). So every
//! connection that opens the same story URL and sends its first message plays the very
//! same schedule. Expanding it once and sharing it makes starting a turn a lookup rather
//! than hundreds of new events, and a thousand connections playing it hold one schedule
//! instead of a thousand copies (~70 KB each for `long-markdown`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Weak};

use super::schedule::{Segment, expand_turn};
use super::timing::Timing;
use crate::library::Scenario;
use crate::rng::{self, Rng};

/// How many different expansions are kept (most recent first); a reload's old scenarios
/// fall out as new ones come in.
const CAPACITY: usize = 64;

/// The expansions most recently asked for.
#[derive(Default)]
pub(crate) struct SharedSchedules {
    entries: Mutex<VecDeque<Entry>>,
}

/// What an expansion is a pure function of: the turn (by its scenario's identity and
/// index), the timing, the seed and how many messages the connection sent to the
/// scenario. One type, compared in one place.
#[derive(Clone)]
struct ScheduleKey {
    /// Weak: a reloaded scenario is not kept alive by the cache, and the pointer cannot be
    /// reused by another scenario while this key holds it.
    scenario: Weak<Scenario>,
    turn: usize,
    timing: Timing,
    seed: u64,
    index: u64,
}

impl ScheduleKey {
    /// Whether this key names the expansion asked for; compares without building a key
    /// (no `Weak` made, no `Timing` cloned) on the lookup every turn start does.
    fn is(
        &self,
        scenario: &Arc<Scenario>,
        turn: usize,
        timing: &Timing,
        seed: u64,
        index: u64,
    ) -> bool {
        std::ptr::eq(self.scenario.as_ptr(), Arc::as_ptr(scenario))
            && self.turn == turn
            && self.seed == seed
            && self.index == index
            && self.timing == *timing
    }
}

struct Entry {
    key: ScheduleKey,
    segment: Arc<Segment>,
    /// The RNG after the expansion: a plan's branch goes on drawing from it.
    rng: Rng,
}

impl SharedSchedules {
    /// The expansion of `scenario.turns[turn]` with `timing` and the RNG
    /// `rng::derive(seed, &scenario.name, index)`, and the RNG after it: exactly what
    /// expanding it afresh gives.
    pub(crate) fn expand(
        &self,
        scenario: &Arc<Scenario>,
        turn: usize,
        timing: &Timing,
        seed: u64,
        index: u64,
    ) -> (Arc<Segment>, Rng) {
        if let Some(e) = self
            .lock()
            .iter()
            .find(|e| e.key.is(scenario, turn, timing, seed, index))
        {
            return (e.segment.clone(), e.rng.clone());
        }
        // Expanded outside the lock: two connections may both expand the same turn once,
        // but a long expansion never holds up the others.
        let mut rng = rng::derive(seed, &scenario.name, index);
        let segment = Arc::new(expand_turn(&scenario.turns[turn].body, timing, &mut rng));
        let mut entries = self.lock();
        if !entries
            .iter()
            .any(|e| e.key.is(scenario, turn, timing, seed, index))
        {
            if entries.len() == CAPACITY {
                entries.pop_back();
            }
            entries.push_front(Entry {
                key: ScheduleKey {
                    scenario: Arc::downgrade(scenario),
                    turn,
                    timing: timing.clone(),
                    seed,
                    index,
                },
                segment: segment.clone(),
                rng: rng.clone(),
            });
        }
        (segment, rng)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::Library;
    use rand::RngExt;
    use std::path::Path;

    fn weather() -> Arc<Scenario> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        Library::load(&dir)
            .unwrap()
            .library
            .get("weather")
            .unwrap()
            .clone()
    }

    #[test]
    fn a_shared_expansion_is_the_expansion_and_is_made_once() {
        let s = weather();
        let timing = Timing::default().with(&s.timing);
        let shared = SharedSchedules::default();
        let (a, mut rng_a) = shared.expand(&s, 0, &timing, 7, 1);
        let (b, mut rng_b) = shared.expand(&s, 0, &timing, 7, 1);
        assert!(Arc::ptr_eq(&a, &b));
        let mut fresh_rng = rng::derive(7, &s.name, 1);
        let fresh = expand_turn(&s.turns[0].body, &timing, &mut fresh_rng);
        assert_eq!(a.events, fresh.events);
        let next = fresh_rng.random_range(0..1_000_000u32);
        assert_eq!(rng_a.random_range(0..1_000_000u32), next);
        assert_eq!(rng_b.random_range(0..1_000_000u32), next);
    }

    #[test]
    fn another_seed_turn_count_or_timing_is_another_expansion() {
        let s = weather();
        let timing = Timing::default().with(&s.timing);
        let shared = SharedSchedules::default();
        let (a, _) = shared.expand(&s, 0, &timing, 7, 1);
        for (seed, index, speed) in [(8, 1, 1.0), (7, 2, 1.0), (7, 1, 2.0)] {
            let t = Timing {
                speed: crate::speed::Speed::new(speed).unwrap(),
                ..timing.clone()
            };
            let (b, _) = shared.expand(&s, 0, &t, seed, index);
            assert!(!Arc::ptr_eq(&a, &b), "{seed} {index} {speed}");
        }
    }
}
