//! What the kinds' tests share: a small turn, faults applied to it, and what was sent.

use std::time::Duration;

use crate::chaos::apply::{Context, Delivery, Op, TurnState, apply};
use crate::chaos::fault::Fault;
use crate::protocol::Event;
use crate::protocol::Scheduled;
use crate::rng::derive;

pub(crate) fn parse(spec: &str) -> Result<Fault, String> {
    crate::chaos::inline::parse(spec)
}

/// `stream_start`, three chunks ("one ", "two ", marker `m`, "three") and `stream_end`,
/// 10 ms apart.
pub(crate) fn events() -> Vec<Scheduled> {
    let at = |ms: u64| Duration::from_millis(ms);
    let chunk = |t: &str| Event::TextChunk { text: t.into() };
    vec![
        Scheduled {
            at: at(0),
            event: Event::StreamStart,
        },
        Scheduled {
            at: at(10),
            event: chunk("one "),
        },
        Scheduled {
            at: at(20),
            event: chunk("two "),
        },
        Scheduled {
            at: at(30),
            event: Event::Marker { name: "m".into() },
        },
        Scheduled {
            at: at(30),
            event: chunk("three"),
        },
        Scheduled {
            at: at(40),
            event: Event::StreamEnd,
        },
    ]
}

/// The faults in `specs` (space-separated inline faults) applied to [`events`].
pub(crate) fn run(specs: &str) -> Vec<Op> {
    let ctx = Context {
        turn: 1,
        attempt: 1,
        since_connect: Duration::ZERO,
    };
    let faults: Vec<Fault> = specs.split(' ').map(|s| parse(s).unwrap()).collect();
    apply(
        events(),
        &faults,
        &mut TurnState::default(),
        ctx,
        &mut derive(1, specs, 0),
    )
}

/// What goes out, in order: chunk texts, event kinds, and the faults' own deliveries.
pub(crate) fn sent(ops: &[Op]) -> Vec<String> {
    ops.iter()
        .filter_map(|o| match &o.delivery {
            Delivery::Send(Event::TextChunk { text }) => Some(text.to_string()),
            Delivery::Send(Event::Marker { .. }) => None,
            Delivery::Send(e) => Some(e.kind().to_owned()),
            Delivery::Corrupt(_) => Some("corrupt".into()),
            Delivery::Fragmented(..) => Some("fragmented".into()),
            Delivery::Close { code, .. } => Some(format!("close {code}")),
            Delivery::Abort => Some("abort".into()),
            Delivery::Halt => Some("halt".into()),
            Delivery::Nothing => None,
        })
        .collect()
}
