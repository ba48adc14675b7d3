//! From a turn to timed events: the timing model, text chunking and `expand`, all pure
//! functions of their inputs and the seeded RNG ([`crate::rng`]) (no clock, no I/O).

pub mod chunk;
pub mod playhead;
pub mod raw;
pub mod schedule;
pub mod shared;
pub mod timing;

pub use crate::protocol::Scheduled;
pub use schedule::{Gate, Segment, expand_branch, expand_turn};
pub use shared::SharedSchedules;
pub use timing::Timing;
