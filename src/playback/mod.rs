//! From a turn to timed events: the timing model, text chunking, the seeded RNG and
//! `expand`, all pure functions of their inputs (no clock, no I/O).

pub mod chunk;
pub mod playhead;
pub mod rng;
pub mod schedule;
pub mod shared;
pub mod timing;

pub use schedule::{Gate, Scheduled, Segment, expand_branch, expand_turn};
pub use shared::SharedSchedules;
pub use timing::Timing;
