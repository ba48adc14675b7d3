//! `reorder`: the event is swapped with the next one.

use super::{Check, Kind};
use crate::chaos::apply::{Delivery, Moment};
use crate::chaos::format::FaultSpec;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reorder;

impl Kind for Reorder {
    const PARAMS: &'static [&'static str] = &[];

    fn compile(_: &FaultSpec, _: &mut Check<'_>) -> Option<Self> {
        Some(Reorder)
    }

    fn apply(&self, m: &mut Moment<'_>) {
        m.reorder = true;
        let note = m.op(m.at, Delivery::Nothing);
        m.before.push(note);
    }
}

#[cfg(test)]
mod tests {
    use crate::chaos::faults::testing::{run, sent};

    #[test]
    fn the_event_goes_after_the_next_one() {
        assert_eq!(
            sent(&run("reorder:events=text_chunk:at_step=1")),
            ["stream_start", "two ", "one ", "three", "stream_end"]
        );
    }
}
