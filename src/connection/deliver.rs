//! Turning one delivery into what goes on the wire, including the malformed and
//! fragmented frames chaos asks for.

use bytes::Bytes;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

/// A text frame that is not valid JSON: the rendered frame cut in half (on a character
/// boundary, so it is still valid UTF-8 and only the JSON parser complains).
pub fn corrupt(frame: &str) -> Message {
    let mut cut = frame.len() / 2;
    while !frame.is_char_boundary(cut) {
        cut -= 1;
    }
    Message::text(frame[..cut].to_owned())
}

/// A text message split into `pieces` WebSocket frames: a first text frame without FIN,
/// then continuation frames, the last with FIN. Clients must reassemble them.
pub fn fragments(frame: &str, pieces: u32) -> Vec<Message> {
    let bytes = frame.as_bytes();
    let n = (pieces as usize).clamp(1, bytes.len().max(1));
    let size = bytes.len().div_ceil(n).max(1);
    let chunks: Vec<&[u8]> = bytes.chunks(size).collect();
    let last = chunks.len().saturating_sub(1);
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let opcode = if i == 0 {
                OpCode::Data(Data::Text)
            } else {
                OpCode::Data(Data::Continue)
            };
            Message::Frame(Frame::message(
                Bytes::copy_from_slice(chunk),
                opcode,
                i == last,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_frames_are_not_json_but_are_utf8() {
        let Message::Text(t) = corrupt(r#"{"type":"message","content":"é"}"#) else {
            panic!()
        };
        assert!(serde_json::from_str::<serde_json::Value>(&t).is_err());
    }

    #[test]
    fn fragments_cover_the_whole_frame() {
        let msgs = fragments("abcdefghij", 3);
        assert_eq!(msgs.len(), 3);
        let mut joined = Vec::new();
        for (i, m) in msgs.iter().enumerate() {
            let Message::Frame(f) = m else { panic!() };
            assert_eq!(f.header().is_final, i == 2);
            joined.extend_from_slice(f.payload());
        }
        assert_eq!(joined, b"abcdefghij");
    }
}
