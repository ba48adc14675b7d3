//! The `raw` dialect: frames of a protocol pawmock does not know, replayed as they were
//! recorded. Events are frames and rendering is identity, so only the faults that need
//! no understanding of a frame apply (drop, duplicate, reorder, latency, stall, close,
//! abort, slice, fragment, corrupt).

use std::sync::Arc;

use bytes::Bytes;
use tokio_tungstenite::tungstenite::Message;

/// One recorded WebSocket frame, exactly as it was on the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum RawFrame {
    Text(Arc<str>),
    Binary(Bytes),
    /// The server closed with this code (1006: the connection was lost without a close
    /// frame, replayed as an abrupt drop).
    Close {
        code: u16,
        reason: String,
    },
}

impl RawFrame {
    /// The message that sends it (closes are carried out by the connection).
    pub(crate) fn message(&self) -> Option<Message> {
        match self {
            RawFrame::Text(t) => Some(Message::text(t.to_string())),
            RawFrame::Binary(b) => Some(Message::binary(b.clone())),
            RawFrame::Close { .. } => None,
        }
    }

    /// The frame's payload bytes (for corrupting and fragmenting).
    pub(crate) fn payload(&self) -> &[u8] {
        match self {
            RawFrame::Text(t) => t.as_bytes(),
            RawFrame::Binary(b) => b,
            RawFrame::Close { .. } => &[],
        }
    }

    /// Cut in half (on a character boundary for text): a frame the client's parser
    /// will likely refuse.
    pub(crate) fn corrupted(&self) -> RawFrame {
        match self {
            RawFrame::Text(t) => {
                let mut cut = t.len() / 2;
                while !t.is_char_boundary(cut) {
                    cut -= 1;
                }
                RawFrame::Text(t[..cut].into())
            }
            RawFrame::Binary(b) => RawFrame::Binary(b.slice(..b.len() / 2)),
            close => close.clone(),
        }
    }

    /// The first `max` characters of the frame, for the log and the journal.
    pub(crate) fn preview(&self, max: usize) -> String {
        match self {
            RawFrame::Text(t) => t.chars().take(max).collect(),
            RawFrame::Binary(b) => format!("<{} binary bytes>", b.len()),
            RawFrame::Close { code, .. } => format!("<close {code}>"),
        }
    }

    /// The frame as the journal shows it: a text frame borrowed whole (the journal cuts
    /// it to its own bound), others described. Borrowed, not copied: it is asked for
    /// every frame a raw connection writes or reads.
    pub(crate) fn journal_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            RawFrame::Text(t) => std::borrow::Cow::Borrowed(t),
            other => std::borrow::Cow::Owned(other.preview(0)),
        }
    }

    /// The frame's type in the journal (it has no PocketPaw `type`).
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            RawFrame::Text(_) => "text",
            RawFrame::Binary(_) => "binary",
            RawFrame::Close { .. } => "close",
        }
    }

    /// A text frame cut into `pieces` text frames of about equal length (the `slice`
    /// fault): each piece is a message of its own.
    pub(crate) fn sliced(text: &str, pieces: u32) -> Vec<RawFrame> {
        let chars: Vec<char> = text.chars().collect();
        let n = (pieces as usize).clamp(1, chars.len().max(1));
        let size = chars.len().div_ceil(n).max(1);
        chars
            .chunks(size)
            .map(|c| RawFrame::Text(c.iter().collect::<String>().into()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_borrows_a_text_frame_whole_and_describes_the_others() {
        let text = RawFrame::Text("a frame longer than a preview".into());
        let shown = text.journal_text();
        assert!(matches!(shown, std::borrow::Cow::Borrowed(_)));
        assert_eq!(shown, text.preview(usize::MAX));
        let binary = RawFrame::Binary(bytes::Bytes::from_static(b"\x00\x01\x02"));
        assert_eq!(binary.journal_text(), "<3 binary bytes>");
    }

    #[test]
    fn corrupting_halves_text_on_a_character_boundary_and_binary_by_bytes() {
        assert_eq!(
            RawFrame::Text("héllo!".into()).corrupted(),
            RawFrame::Text("hé".into())
        );
        assert_eq!(
            RawFrame::Binary(Bytes::from_static(&[1, 2, 3, 4])).corrupted(),
            RawFrame::Binary(Bytes::from_static(&[1, 2]))
        );
    }

    #[test]
    fn slices_join_back_to_the_frame() {
        let parts = RawFrame::sliced("abcdefg", 3);
        assert_eq!(parts.len(), 3);
        let joined: String = parts
            .iter()
            .map(|p| match p {
                RawFrame::Text(t) => t.to_string(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(joined, "abcdefg");
    }
}
