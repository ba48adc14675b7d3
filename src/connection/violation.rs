//! Client frames that break RFC 6455 itself (not pawmock's protocol): they are answered
//! with the close code the RFC gives, and a reason, instead of a bare TCP drop.

use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::error::ProtocolError as P;

/// Close code 1007: a text frame that is not UTF-8.
pub(crate) const INVALID_DATA: u16 = 1007;
/// Close code 1002: a frame the WebSocket protocol does not allow.
pub(crate) const PROTOCOL_ERROR: u16 = 1002;

/// The close code and reason for a protocol violation, or `None` when the error is not
/// the client breaking the protocol (the socket failed, the peer vanished).
pub(crate) fn of(e: &WsError) -> Option<(u16, String)> {
    let reason = match e {
        WsError::Utf8(_) => {
            return Some((
                INVALID_DATA,
                "invalid UTF-8 in a text frame: text frames must be UTF-8".into(),
            ));
        }
        WsError::Protocol(p) => match p {
            P::NonZeroReservedBits => "reserved bits set: no extension was negotiated".into(),
            P::UnknownControlFrameType(op) | P::UnknownDataFrameType(op) | P::InvalidOpcode(op) => {
                format!("unknown opcode {op}")
            }
            P::UnexpectedContinueFrame => "a continuation frame with nothing to continue".into(),
            P::ExpectedFragment(_) => "a new message began before the fragmented one ended".into(),
            P::FragmentedControlFrame => "a fragmented control frame".into(),
            P::ControlFrameTooBig => "a control frame over 125 bytes".into(),
            P::UnmaskedFrameFromClient => "an unmasked frame: client frames must be masked".into(),
            P::InvalidCloseSequence => "an invalid close frame".into(),
            _ => return None,
        },
        _ => return None,
    };
    Some((PROTOCOL_ERROR, reason))
}
