//! `drop`: the event is never sent.

use super::{Check, Kind};
use crate::chaos::apply::{Delivery, Moment};
use crate::chaos::format::FaultSpec;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Drop;

impl Kind for Drop {
    const PARAMS: &'static [&'static str] = &[];

    fn compile(_: &FaultSpec, _: &mut Check<'_>) -> Option<Self> {
        Some(Drop)
    }

    fn apply(&self, m: &mut Moment<'_>) {
        m.main = vec![m.op(m.at, Delivery::Nothing)];
    }
}

#[cfg(test)]
mod tests {
    use crate::chaos::faults::testing::{run, sent};

    #[test]
    fn the_event_is_not_sent() {
        assert_eq!(
            sent(&run("drop:events=text_chunk:at_step=2")),
            ["stream_start", "one ", "three", "stream_end"]
        );
    }
}
