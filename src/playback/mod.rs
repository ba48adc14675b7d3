//! From a turn to timed events: the timing model, text chunking and `expand`, all pure
//! functions of their inputs and the seeded RNG ([`crate::rng`]) (no clock, no I/O).

pub(crate) mod chunk;
pub(crate) mod playhead;
pub(crate) mod raw;
pub(crate) mod schedule;
pub(crate) mod shared;
pub(crate) mod timing;

pub(crate) use schedule::{Segment, expand_branch, expand_turn};
pub(crate) use shared::SharedSchedules;
pub(crate) use timing::Timing;
