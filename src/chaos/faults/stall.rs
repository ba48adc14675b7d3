//! `stall`: silence for `duration` (everything after moves later), or for good (no
//! `duration`: the turn stops without `stream_end`); the socket stays open.

use std::time::Duration;

use super::{Check, Kind};
use crate::chaos::apply::{Delivery, Moment};
use crate::chaos::format::FaultSpec;
use crate::chaos::trigger::Position;

/// `None`: for good.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stall(pub Option<Duration>);

impl Kind for Stall {
    const PARAMS: &'static [&'static str] = &["duration"];

    fn compile(spec: &FaultSpec, _: &mut Check<'_>) -> Option<Self> {
        Some(Stall(spec.duration.map(|d| d.0)))
    }

    fn apply(&self, m: &mut Moment<'_>) {
        let Some(d) = self.0 else {
            m.end_with(Delivery::Halt);
            return;
        };
        if m.position() == Position::Before {
            m.delay_event(d);
        }
        m.shift += d;
        let note = m.op(m.at, Delivery::Nothing);
        m.place(note);
    }
}

#[cfg(test)]
mod tests {
    use crate::chaos::faults::testing::{run, sent};

    #[test]
    fn a_stall_moves_everything_after_it_or_halts_the_turn() {
        let times: Vec<u128> = run("stall:duration=25ms:events=text_chunk:at_step=1")
            .iter()
            .filter(|o| o.fault.is_none())
            .map(|o| o.at.as_millis())
            .collect();
        assert_eq!(times, [0, 35, 45, 55, 55, 65]);
        assert_eq!(
            sent(&run("stall:events=text_chunk:after_step=2")),
            ["stream_start", "one ", "two ", "halt"]
        );
    }
}
