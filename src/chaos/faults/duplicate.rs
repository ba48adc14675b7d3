//! `duplicate`: the event is sent twice.

use super::{Check, Kind};
use crate::chaos::apply::{Delivery, Moment};
use crate::chaos::format::FaultSpec;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Duplicate;

impl Kind for Duplicate {
    const PARAMS: &'static [&'static str] = &[];

    fn compile(_: &FaultSpec, _: &mut Check<'_>) -> Option<Self> {
        Some(Duplicate)
    }

    fn apply(&self, m: &mut Moment<'_>) {
        let copy = m.main.iter().find_map(|o| match &o.delivery {
            Delivery::Send(e) => Some(e.clone()),
            _ => None,
        });
        if let Some(e) = copy {
            let op = m.op(m.at, Delivery::Send(e));
            m.main.push(op);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::chaos::faults::testing::{run, sent};

    #[test]
    fn the_event_is_sent_twice() {
        assert_eq!(
            sent(&run("duplicate:events=text_chunk:at_step=2")),
            ["stream_start", "one ", "two ", "two ", "three", "stream_end"]
        );
        // A dropped event has nothing to duplicate.
        assert_eq!(
            sent(&run("drop:events=text_chunk:at_step=2 duplicate:events=text_chunk:at_step=2")),
            ["stream_start", "one ", "three", "stream_end"]
        );
    }
}
