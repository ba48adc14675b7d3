//! `error`: an `error` event is inserted (`message`); with `end_turn` the turn stops
//! there, with a `stream_end` unless `stream_end` is false.

use super::{Check, Kind};
use crate::chaos::apply::{Delivery, Moment};
use crate::chaos::format::FaultSpec;
use crate::chaos::trigger::Position;
use crate::protocol::Event;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Error {
    pub(crate) message: String,
    pub(crate) end_turn: bool,
    pub(crate) stream_end: bool,
}

impl Kind for Error {
    const PARAMS: &'static [&'static str] = &["message", "end_turn", "stream_end"];
    const TEXT_PARAMS: &'static [&'static str] = &["message"];
    const FLAG_PARAMS: &'static [&'static str] = &["end_turn", "stream_end"];

    fn compile(spec: &FaultSpec, _: &mut Check<'_>) -> Option<Self> {
        Some(Error {
            message: spec
                .message
                .clone()
                .unwrap_or_else(|| "Injected error (pawmock chaos)".into()),
            end_turn: spec.end_turn.unwrap_or(false),
            stream_end: spec.stream_end.unwrap_or(true),
        })
    }

    fn apply(&self, m: &mut Moment<'_>) {
        let error = m.op(
            m.at,
            Delivery::Send(Event::Error {
                message: self.message.clone(),
            }),
        );
        if !self.end_turn {
            m.place(error);
            return;
        }
        let mut tail = vec![error];
        if self.stream_end {
            tail.push(m.op(m.at, Delivery::Send(Event::StreamEnd)));
        }
        tail.push(m.op(m.at, Delivery::Halt));
        match m.position() {
            Position::Before => m.main = tail,
            Position::After => m.after.extend(tail),
        }
        m.halted = true;
    }
}

#[cfg(test)]
mod tests {
    use crate::chaos::faults::testing::{run, sent};

    #[test]
    fn an_error_is_inserted_and_may_end_the_turn() {
        assert_eq!(
            sent(&run("error:message=x:after_marker=m")),
            ["stream_start", "one ", "two ", "error", "three", "stream_end"]
        );
        assert_eq!(
            sent(&run(
                "error:message=x:end_turn=true:events=text_chunk:at_step=2"
            )),
            ["stream_start", "one ", "error", "stream_end", "halt"]
        );
        assert_eq!(
            sent(&run(
                "error:end_turn=true:stream_end=false:events=text_chunk:after_step=1"
            )),
            ["stream_start", "one ", "error", "halt"]
        );
    }
}
