//! Timing a `raw` recording's server frames: the recorded gaps, capped by `max_gap`,
//! divided by the speed, and varied by `jitter` when one is asked for (a recording's
//! own timing is the point, so there is none by default).

use std::time::Duration;

use rand::RngExt;

use super::schedule::Segment;
use super::timing::Timing;
use crate::library::raw::RawOut;
use crate::protocol::Event;
use crate::protocol::Scheduled;
use crate::rng::Rng;

/// The frames of one exchange (or the greeting) at absolute offsets from its start.
pub(crate) fn expand_raw(
    replies: &[(Duration, RawOut)],
    timing: &Timing,
    jitter: Option<f64>,
    rng: &mut Rng,
) -> Segment {
    // The cap is on the silence the client sees, as for PocketPaw recordings.
    let cap = if !timing.speed.is_instant() {
        timing.speed.script_time(timing.max_gap)
    } else {
        timing.max_gap
    };
    let jitter = jitter.filter(|j| *j > 0.0).map(|j| j.min(1.0));
    let mut cursor = Duration::ZERO;
    let events = replies
        .iter()
        .map(|(delay, out)| {
            let mut gap = (*delay).min(cap);
            if let Some(j) = jitter {
                gap = gap.mul_f64((1.0 + j * rng.random_range(-1.0..=1.0)).max(0.0));
            }
            cursor += gap;
            Scheduled {
                at: timing.scale(cursor),
                event: match out {
                    RawOut::Frame(f) => Event::Frame(f.clone()),
                    RawOut::Marker(name) => Event::Marker { name: name.clone() },
                },
            }
        })
        .collect();
    Segment { events, gate: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::raw::RawFrame;
    use crate::rng;

    fn replies() -> Vec<(Duration, RawOut)> {
        [100u64, 5_000, 300]
            .iter()
            .enumerate()
            .map(|(i, ms)| {
                (
                    Duration::from_millis(*ms),
                    RawOut::Frame(RawFrame::Text(format!("f{i}").into())),
                )
            })
            .collect()
    }

    fn offsets(s: &Segment) -> Vec<u128> {
        s.events.iter().map(|e| e.at.as_millis()).collect()
    }

    #[test]
    fn recorded_gaps_are_capped_then_scaled_by_the_speed() {
        let mut r = rng::derive(1, "raw", 0);
        let t = Timing::default();
        assert_eq!(
            offsets(&expand_raw(&replies(), &t, None, &mut r)),
            [100, 2_100, 2_400]
        );
        let fast = Timing {
            speed: crate::speed::Speed::new(2.0).unwrap(),
            ..Timing::default()
        };
        assert_eq!(
            offsets(&expand_raw(&replies(), &fast, None, &mut r)),
            [50, 2_050, 2_200]
        );
        let instant = Timing {
            speed: crate::speed::Speed::INSTANT,
            ..Timing::default()
        };
        assert_eq!(
            offsets(&expand_raw(&replies(), &instant, None, &mut r)),
            [0, 0, 0]
        );
    }

    #[test]
    fn jitter_varies_gaps_the_same_way_for_the_same_seed() {
        let t = Timing::default();
        let a = expand_raw(&replies(), &t, Some(0.5), &mut rng::derive(7, "raw", 1));
        let b = expand_raw(&replies(), &t, Some(0.5), &mut rng::derive(7, "raw", 1));
        assert_eq!(offsets(&a), offsets(&b));
        assert_ne!(offsets(&a), [100, 2_100, 2_400]);
        let first = a.events[0].at.as_millis();
        assert!((50..=150).contains(&first), "{first}");
    }
}
