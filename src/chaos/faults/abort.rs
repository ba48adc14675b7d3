//! `abort`: the TCP connection is dropped without a close frame (the browser sees
//! 1006), at an event or on a timer from connect.

use super::{Check, Kind};
use crate::chaos::apply::{Delivery, Moment};
use crate::chaos::fault::{EventKind, Stage, connection_ending_stage};
use crate::chaos::format::FaultSpec;
use crate::chaos::trigger::Trigger;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Abort;

impl Kind for Abort {
    const PARAMS: &'static [&'static str] = &[];

    fn compile(_: &FaultSpec, _: &mut Check<'_>) -> Option<Self> {
        Some(Abort)
    }

    fn stage(trigger: &Trigger, events: Option<&[EventKind]>) -> Stage {
        connection_ending_stage(trigger, events)
    }

    fn apply(&self, m: &mut Moment<'_>) {
        m.end_with(Delivery::Abort);
    }

    fn on_timer(&self) -> Delivery {
        Delivery::Abort
    }
}

#[cfg(test)]
mod tests {
    use crate::chaos::fault::Stage;
    use crate::chaos::faults::testing::{parse, run, sent};

    #[test]
    fn the_connection_drops_at_the_event_or_on_a_timer() {
        assert_eq!(
            sent(&run("abort:events=text_chunk:at_step=2")),
            ["stream_start", "one ", "abort"]
        );
        assert_eq!(
            parse("abort:after=2s:from=connect").unwrap().stage(),
            Stage::ConnectTimer
        );
        assert_eq!(
            parse("abort:after=2s:from=connect:events=text_chunk")
                .unwrap()
                .stage(),
            Stage::Event
        );
    }
}
