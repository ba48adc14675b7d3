//! `slice`: a text chunk (or a raw recording's text frame) is split into `pieces`
//! smaller ones, `interval` apart: a slow drip. Everything after moves later.

use std::time::Duration;

use super::{Check, Kind, pieces};
use crate::chaos::apply::{Delivery, Moment, Op};
use crate::chaos::format::FaultSpec;
use crate::protocol::Event;
use crate::protocol::raw::RawFrame;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Slice {
    pub(crate) pieces: u32,
    pub(crate) interval: Duration,
}

impl Kind for Slice {
    const PARAMS: &'static [&'static str] = &["pieces", "interval"];

    fn compile(spec: &FaultSpec, check: &mut Check<'_>) -> Option<Self> {
        Some(Slice {
            pieces: pieces(spec, check),
            interval: spec.interval.map_or(Duration::from_millis(100), |d| d.0),
        })
    }

    fn apply(&self, m: &mut Moment<'_>) {
        // Answer text, or a raw recording's text frame (as pieces of text).
        let parts: Option<Vec<Event>> = match m.main.as_slice() {
            [
                Op {
                    delivery: Delivery::Send(Event::TextChunk { text }),
                    ..
                },
            ] => Some(
                slice(text, self.pieces)
                    .into_iter()
                    .map(|p| Event::TextChunk { text: p.into() })
                    .collect(),
            ),
            [
                Op {
                    delivery: Delivery::Send(Event::Frame(RawFrame::Text(text))),
                    ..
                },
            ] => Some(
                RawFrame::sliced(text, self.pieces)
                    .into_iter()
                    .map(Event::Frame)
                    .collect(),
            ),
            _ => None,
        };
        if let Some(parts) = parts {
            let n = parts.len() as u32;
            m.main = parts
                .into_iter()
                .enumerate()
                .map(|(k, e)| m.op(m.at + self.interval * k as u32, Delivery::Send(e)))
                .collect();
            m.shift += self.interval * n.saturating_sub(1);
        }
    }
}

/// Splits text into at most `pieces` parts of about equal length (in characters).
fn slice(text: &str, pieces: u32) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() < 2 {
        return vec![text.to_owned()];
    }
    let size = chars.len().div_ceil(pieces as usize).max(1);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

#[cfg(test)]
mod tests {
    use super::slice;
    use crate::chaos::faults::testing::{run, sent};

    #[test]
    fn a_chunk_drips_in_pieces() {
        assert_eq!(
            sent(&run("slice:pieces=2:events=text_chunk:at_step=3")),
            ["stream_start", "one ", "two ", "thr", "ee", "stream_end"]
        );
        assert_eq!(slice("héllo", 2), ["hél", "lo"]);
        assert_eq!(slice("x", 3), ["x"]);
    }
}
