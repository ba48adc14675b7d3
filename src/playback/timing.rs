//! The timing model: defaults, layered with the scenario's and the connection's choices.

use std::time::Duration;

use rand::RngExt;

use crate::located::duration;
use crate::rng::Rng;

use crate::library::format::{ChunkUnit, TimingSpec};
use crate::speed::Speed;

/// Resolved pace of one turn. Durations are script time; `speed` divides them.
/// The speeds layered into it (the scenario's, then the URL's or server's) multiply.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    pub(crate) first_token: Duration,
    pub chunk: ChunkUnit,
    pub(crate) chunk_size: usize,
    pub chunk_delay: Duration,
    pub(crate) jitter: f64,
    pub(crate) think: Duration,
    pub(crate) tool_duration: Duration,
    pub(crate) max_gap: Duration,
    pub speed: Speed,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            first_token: Duration::from_millis(600),
            chunk: ChunkUnit::Word,
            chunk_size: 1,
            chunk_delay: Duration::from_millis(40),
            jitter: 0.25,
            think: Duration::from_millis(400),
            tool_duration: Duration::from_secs(1),
            max_gap: Duration::from_secs(2),
            speed: Speed::NORMAL,
        }
    }
}

impl Timing {
    /// Applies `spec` on top: every field it sets wins. `speed` multiplies, so a
    /// scenario at speed 2 played with `?speed=0.5` runs at 1.
    pub fn with(mut self, spec: &TimingSpec) -> Self {
        if let Some(d) = spec.first_token {
            self.first_token = d.0;
        }
        if let Some(c) = spec.chunk {
            self.chunk = c;
        }
        if let Some(n) = spec.chunk_size {
            self.chunk_size = n.max(1) as usize;
        }
        if let Some(d) = spec.chunk_delay {
            self.chunk_delay = d.0;
        }
        if let Some(cps) = spec.chunks_per_second.filter(|c| *c > 0.0) {
            self.chunk_delay = Duration::try_from_secs_f64(1.0 / cps)
                .map_or(duration::MAX, |d| d.min(duration::MAX));
        }
        if let Some(j) = spec.jitter {
            self.jitter = j.clamp(0.0, 1.0);
        }
        if let Some(d) = spec.think {
            self.think = d.0;
        }
        if let Some(d) = spec.tool_duration {
            self.tool_duration = d.0;
        }
        if let Some(d) = spec.max_gap {
            self.max_gap = d.0;
        }
        // Loading refuses a speed `Speed::new` refuses, so none is dropped here.
        if let Some(s) = spec.speed.and_then(Speed::new) {
            self.speed = self.speed.times(s);
        }
        self
    }

    /// The gap after one chunk: `chunk_delay`, varied uniformly by ±`jitter`.
    pub(crate) fn chunk_gap(&self, rng: &mut Rng) -> Duration {
        if self.jitter == 0.0 {
            return self.chunk_delay;
        }
        let factor = 1.0 + self.jitter * rng.random_range(-1.0..=1.0);
        self.chunk_delay.mul_f64(factor.max(0.0))
    }

    /// Script time as wall time at this speed (speed 0: no time at all).
    pub(crate) fn scale(&self, d: Duration) -> Duration {
        self.speed.scale(d)
    }
}
