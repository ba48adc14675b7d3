//! `corrupt`: a text frame that is not valid JSON (the frame cut in half) is sent
//! instead of the event. The connection renders the cut (`Delivery::Corrupt`).

use super::{Check, Kind};
use crate::chaos::apply::{Delivery, Moment};
use crate::chaos::format::FaultSpec;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Corrupt;

impl Kind for Corrupt {
    const PARAMS: &'static [&'static str] = &[];

    fn compile(_: &FaultSpec, _: &mut Check<'_>) -> Option<Self> {
        Some(Corrupt)
    }

    fn apply(&self, m: &mut Moment<'_>) {
        m.map_send(Delivery::Corrupt);
    }
}

#[cfg(test)]
mod tests {
    use crate::chaos::faults::testing::{run, sent};

    #[test]
    fn the_event_goes_out_malformed() {
        assert_eq!(
            sent(&run("corrupt:events=text_chunk:at_step=3")),
            ["stream_start", "one ", "two ", "corrupt", "stream_end"]
        );
    }
}
