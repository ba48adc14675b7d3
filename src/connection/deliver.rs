//! Turning one delivery into what goes on the wire, including the malformed and
//! fragmented frames chaos asks for.

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tracing::info;

use super::{Connection, End, Result, dashboard};
use crate::chaos::{Delivery, Op};
use crate::metrics::FrameKind;
use crate::protocol::dialect;

/// A text frame that is not valid JSON: the rendered frame cut in half (on a character
/// boundary, so it is still valid UTF-8 and only the JSON parser complains).
pub(crate) fn corrupt(frame: &str) -> Message {
    let mut cut = frame.len() / 2;
    while !frame.is_char_boundary(cut) {
        cut -= 1;
    }
    Message::text(frame[..cut].to_owned())
}

/// A text message split into `pieces` WebSocket frames: a first text frame without FIN,
/// then continuation frames, the last with FIN. Clients must reassemble them.
pub(crate) fn fragments(frame: &str, pieces: u32) -> Vec<Message> {
    fragments_of(frame.as_bytes(), Data::Text, pieces)
}

/// A message of type `kind` (text or binary) split into `pieces` WebSocket frames (first
/// with the opcode, then continuation frames, the last with FIN); an empty one is one
/// frame. Raw connections fragment their recorded frames with it too.
pub(super) fn fragments_of(payload: &[u8], kind: Data, pieces: u32) -> Vec<Message> {
    let n = (pieces as usize).clamp(1, payload.len().max(1));
    let size = payload.len().div_ceil(n).max(1);
    let chunks: Vec<&[u8]> = if payload.is_empty() {
        vec![payload]
    } else {
        payload.chunks(size).collect()
    };
    let last = chunks.len() - 1;
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let opcode = if i == 0 {
                OpCode::Data(kind)
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

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<'_, S> {
    /// Carries out one delivery of the playing turn, logging the fault behind it.
    pub(super) async fn deliver(&mut self, op: Op, sid: &str) -> Result {
        if let Some(f) = &op.fault {
            self.chaos.acted(f.kind);
            self.app.metrics.fault_applied(f.kind.name());
            info!(conn = %self.id, fault = f.kind.name(), event = f.event_index, turn = self.turns, "fault injected");
            self.ctl.record(crate::control::What::FaultApplied {
                fault: f.kind.to_string(),
                stage: "turn".into(),
                trigger: format!("event {} of turn {}", f.event_index, self.turns),
            });
        }
        match op.delivery {
            Delivery::Send(event) => {
                let frame = self.wire.render(&event, sid);
                let scripted = self.active.as_ref().is_none_or(|t| t.scripted);
                let around = dashboard::Around::of(&event, self.wire.dialect(), sid, scripted);
                self.feed_turn_frame(FrameKind::of(&event), frame, around)
                    .await
            }
            Delivery::Corrupt(event) => match dialect::render(&event, self.wire.dialect(), sid) {
                Some(frame) => {
                    let kind = FrameKind::of(&event);
                    let messages = vec![corrupt(&frame.to_string())];
                    self.wire.send_raw(&mut self.ctl, kind, messages).await
                }
                None => Ok(()),
            },
            Delivery::Fragmented(event, pieces) => {
                match dialect::render(&event, self.wire.dialect(), sid) {
                    Some(frame) => {
                        let kind = FrameKind::of(&event);
                        let messages = fragments(&frame.to_string(), pieces);
                        self.wire.send_raw(&mut self.ctl, kind, messages).await
                    }
                    None => Ok(()),
                }
            }
            Delivery::Close { code, reason } => self.chaos_close(code, reason).await,
            Delivery::Abort => {
                // What was due before the abort reaches the client first.
                let _ = self.wire.flush(&mut self.ctl).await;
                Err(End::ChaosAbort)
            }
            Delivery::Halt => {
                // The turn stops for good; the socket stays open and keeps answering.
                if let Some(turn) = self.active.take() {
                    self.ctl.why = "fault";
                    self.finish(turn, true);
                }
                Ok(())
            }
            Delivery::Nothing => Ok(()),
        }
    }
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

    #[test]
    fn binary_fragments_carry_the_binary_opcode_first_and_join_back() {
        let msgs = fragments_of(&[1, 2, 3, 4, 5], Data::Binary, 2);
        assert_eq!(msgs.len(), 2);
        let mut joined = Vec::new();
        for (i, m) in msgs.iter().enumerate() {
            let Message::Frame(f) = m else {
                panic!("{m:?} is not a raw frame")
            };
            let want = if i == 0 {
                OpCode::Data(Data::Binary)
            } else {
                OpCode::Data(Data::Continue)
            };
            assert_eq!(f.header().opcode, want);
            assert_eq!(f.header().is_final, i == 1);
            joined.extend_from_slice(f.payload());
        }
        assert_eq!(joined, [1, 2, 3, 4, 5]);
    }
}
