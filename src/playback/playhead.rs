//! Where a turn's playback stands in its schedule, and when an offset of the schedule is
//! due on the clock: a pause or a speed change moves this mapping, never the seeded
//! schedule itself. Time only enters as the `now` callers pass in.

use std::time::Duration;

use tokio::time::Instant;

use crate::speed::Speed;

/// Maps schedule offsets to instants: `anchor_wall + (offset - anchor_pos) / rate`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Playhead {
    anchor_wall: Instant,
    anchor_pos: Duration,
    rate: Speed,
    paused: bool,
}

impl Playhead {
    /// Offset 0 is due at `origin`; offsets play at `rate` (1 is the schedule's pace).
    pub(crate) fn new(origin: Instant, rate: Speed, paused: bool) -> Playhead {
        Playhead {
            anchor_wall: origin,
            anchor_pos: Duration::ZERO,
            rate,
            paused,
        }
    }

    /// When `offset` is due; `None` while paused.
    pub(crate) fn due(&self, offset: Duration) -> Option<Instant> {
        if self.paused {
            return None;
        }
        let ahead = offset.saturating_sub(self.anchor_pos);
        Some(crate::located::duration::later(
            self.anchor_wall,
            self.scale(ahead),
        ))
    }

    /// Whether `offset` is due at `now` (never while paused).
    pub(crate) fn reached(&self, offset: Duration, now: Instant) -> bool {
        self.due(offset).is_some_and(|at| at <= now)
    }

    /// The schedule offset playback stands at.
    pub(crate) fn position(&self, now: Instant) -> Duration {
        if self.paused {
            return self.anchor_pos;
        }
        let elapsed = now.saturating_duration_since(self.anchor_wall);
        self.anchor_pos + self.rate.script_time(elapsed)
    }

    fn scale(&self, d: Duration) -> Duration {
        self.rate.scale(d)
    }

    /// The control API's live speed (1 unless it was changed).
    pub(crate) fn rate(&self) -> Speed {
        self.rate
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.paused
    }

    /// Holds playback where it stands at `now`.
    pub(crate) fn pause(&mut self, now: Instant) {
        if !self.paused {
            self.anchor_pos = self.position(now);
            self.anchor_wall = now;
            self.paused = true;
        }
    }

    /// Holds playback exactly at `offset` (a marker's), whatever the timer's lateness.
    pub(crate) fn hold_at(&mut self, offset: Duration, now: Instant) {
        self.anchor_pos = offset;
        self.anchor_wall = now;
        self.paused = true;
    }

    /// Goes on from where it was held, as of `now`; returns how long it was held.
    pub(crate) fn resume(&mut self, now: Instant) -> Duration {
        if !self.paused {
            return Duration::ZERO;
        }
        let held = now.saturating_duration_since(self.anchor_wall);
        self.anchor_wall = now;
        self.paused = false;
        held
    }

    /// Moves a held playhead forward to `offset` (a step releases the next event).
    pub(crate) fn advance_to(&mut self, offset: Duration) {
        if self.paused {
            self.anchor_pos = self.anchor_pos.max(offset);
        }
    }

    /// Plays at `rate` from `now` on (0: everything left is due at once).
    pub(crate) fn set_rate(&mut self, rate: Speed, now: Instant) {
        self.anchor_pos = self.position(now);
        if !self.paused {
            self.anchor_wall = now;
        }
        self.rate = rate;
    }

    /// Stops for `length` from `now`, then goes on (a `stall` injected through the API).
    pub(crate) fn stall(&mut self, now: Instant, length: Duration) {
        self.anchor_pos = self.position(now);
        self.anchor_wall = crate::located::duration::later(now, length);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[tokio::test(start_paused = true)]
    async fn an_untouched_playhead_is_the_schedule_itself() {
        let t0 = Instant::now();
        let p = Playhead::new(t0, Speed::NORMAL, false);
        for off in [0, 1, 599, 12_345] {
            assert_eq!(p.due(ms(off)), Some(t0 + ms(off)));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_shifts_what_is_left_by_the_time_paused() {
        let t0 = Instant::now();
        let mut p = Playhead::new(t0, Speed::NORMAL, false);
        p.pause(t0 + ms(300));
        assert_eq!(p.due(ms(500)), None);
        assert!(!p.reached(ms(100), t0 + ms(10_000)));
        assert_eq!(p.resume(t0 + ms(2_300)), ms(2_000), "held from 300 to 2300");
        assert_eq!(p.due(ms(500)), Some(t0 + ms(2_500)));
        assert_eq!(p.position(t0 + ms(2_400)), ms(400));
    }

    #[tokio::test(start_paused = true)]
    async fn a_step_advances_a_held_playhead_and_speed_scales_what_is_left() {
        let t0 = Instant::now();
        let mut p = Playhead::new(t0, Speed::NORMAL, true);
        p.advance_to(ms(200));
        assert_eq!(p.position(t0 + ms(999)), ms(200));
        p.resume(t0 + ms(1_000));
        assert_eq!(p.due(ms(300)), Some(t0 + ms(1_100)));
        p.set_rate(Speed::new(0.5).unwrap(), t0 + ms(1_000));
        assert_eq!(p.due(ms(300)), Some(t0 + ms(1_200)));
        p.set_rate(Speed::new(2.0).unwrap(), t0 + ms(1_100));
        // Position at 1_100 is 250 ms; 50 more at double speed is 25 ms.
        assert_eq!(p.due(ms(300)), Some(t0 + ms(1_125)));
        let mut h = Playhead::new(t0, Speed::NORMAL, false);
        h.hold_at(ms(700), t0 + ms(900));
        assert_eq!(h.position(t0 + ms(5)), ms(700));
        let mut s = Playhead::new(t0, Speed::NORMAL, false);
        s.stall(t0 + ms(100), ms(1_000));
        assert_eq!(s.due(ms(150)), Some(t0 + ms(1_150)));
    }
}
