//! `close`: the connection is closed with `code` and `reason`, at an event or on a
//! timer from connect.

use super::{Check, Kind};
use crate::chaos::apply::{Delivery, Moment};
use crate::chaos::fault::{EventKind, Stage, connection_ending_stage};
use crate::chaos::format::FaultSpec;
use crate::chaos::trigger::Trigger;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Close {
    pub(crate) code: u16,
    pub(crate) reason: String,
}

impl Kind for Close {
    const PARAMS: &'static [&'static str] = &["code", "reason"];
    const TEXT_PARAMS: &'static [&'static str] = &["reason"];

    fn compile(spec: &FaultSpec, check: &mut Check<'_>) -> Option<Self> {
        let code = spec.code.unwrap_or(1011);
        // 1004–1006 and 1015 are reserved: they must never appear in a close frame.
        if !(1000..=4999).contains(&code) || matches!(code, 1004..=1006 | 1015) {
            check.bad(
                "code",
                format!("close code {code} cannot be sent"),
                Some("use 1000–4999 except 1004, 1005, 1006 and 1015 (e.g. 1000, 1001, 1011, 4003, 4029)".into()),
            );
        }
        let reason = spec.reason.clone().unwrap_or_default();
        // A close frame's payload is at most 125 bytes: the 2-byte code and the reason.
        if reason.len() > 123 {
            check.bad(
                "reason",
                format!(
                    "the close reason is {} bytes; a close frame holds at most 123",
                    reason.len()
                ),
                Some("shorten it (browsers fail a connection whose close frame is too long)".into()),
            );
        }
        Some(Close { code, reason })
    }

    fn stage(trigger: &Trigger, events: Option<&[EventKind]>) -> Stage {
        connection_ending_stage(trigger, events)
    }

    fn apply(&self, m: &mut Moment<'_>) {
        m.end_with(self.on_timer());
    }

    fn on_timer(&self) -> Delivery {
        Delivery::Close {
            code: self.code,
            reason: self.reason.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::chaos::fault::Stage;
    use crate::chaos::faults::testing::{parse, run, sent};

    #[test]
    fn the_connection_closes_after_the_event_or_on_a_timer() {
        assert_eq!(
            sent(&run("close:code=4000:events=text_chunk:after_step=3")),
            ["stream_start", "one ", "two ", "three", "close 4000"]
        );
        assert_eq!(
            parse("close:after=0s:from=connect").unwrap().stage(),
            Stage::ConnectTimer
        );
        assert_eq!(parse("close:after=1s").unwrap().stage(), Stage::Event);
    }

    #[test]
    fn a_reason_that_looks_like_a_number_stays_text() {
        let f = parse("close:code=4004:reason=404").unwrap();
        assert_eq!(
            f.effect,
            crate::chaos::fault::Effect::Close(super::Close {
                code: 4004,
                reason: "404".into()
            })
        );
    }

    #[test]
    fn unsendable_codes_and_long_reasons_are_refused() {
        assert!(
            parse("close:code=1015")
                .unwrap_err()
                .contains("close code 1015 cannot be sent")
        );
        let long = format!("close:reason={}", "x".repeat(124));
        assert!(
            parse(&long)
                .unwrap_err()
                .contains("the close reason is 124 bytes")
        );
    }
}
