//! `fragment`: the frame is sent as a fragmented WebSocket message of `pieces` frames.

use super::{Check, Kind, pieces};
use crate::chaos::apply::{Delivery, Moment};
use crate::chaos::format::FaultSpec;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fragment {
    pub(crate) pieces: u32,
}

impl Kind for Fragment {
    const PARAMS: &'static [&'static str] = &["pieces"];

    fn compile(spec: &FaultSpec, check: &mut Check<'_>) -> Option<Self> {
        Some(Fragment {
            pieces: pieces(spec, check),
        })
    }

    fn apply(&self, m: &mut Moment<'_>) {
        let pieces = self.pieces;
        m.map_send(|e| Delivery::Fragmented(e, pieces));
    }
}

#[cfg(test)]
mod tests {
    use crate::chaos::faults::testing::{parse, run, sent};

    #[test]
    fn the_frame_goes_out_in_pieces() {
        assert_eq!(
            sent(&run("fragment:events=text_chunk:at_step=2")),
            ["stream_start", "one ", "fragmented", "three", "stream_end"]
        );
        assert!(
            parse("fragment:pieces=1")
                .unwrap_err()
                .contains("`pieces` must be at least 2")
        );
    }
}
