//! The client side every benchmark shares: opening a bounded number of connections, and
//! telling answer chunks from the end of a turn without parsing every frame.

use std::borrow::Cow;
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::target::Target;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Longest a single handshake may take before the run is called off.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes in flight at once: enough to open 10,000 connections in seconds, few
/// enough to stay far below the server's listen backlog.
pub const PARALLEL_HANDSHAKES: usize = 64;

/// Opens one connection. `read_buffer` is small for idle crowds (the client then holds
/// 10,000 sockets in little memory) and larger where frames are read in bulk.
pub async fn connect(target: &Target, read_buffer: usize) -> anyhow::Result<Ws> {
    let config = WebSocketConfig::default().read_buffer_size(read_buffer);
    let (ws, _) = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        tokio_tungstenite::connect_async_with_config(target.url(), Some(config), true),
    )
    .await
    .with_context(|| {
        format!(
            "no handshake from {} within {HANDSHAKE_TIMEOUT:?}",
            target.url()
        )
    })?
    .with_context(|| format!("cannot connect to {}", target.url()))?;
    Ok(ws)
}

/// Opens exactly `count` connections, [`PARALLEL_HANDSHAKES`] at a time. A failure is
/// not retried (that would raise more connections than asked): the run stops with it.
pub async fn connect_many(
    target: &Target,
    count: usize,
    read_buffer: usize,
) -> anyhow::Result<(Vec<Ws>, Duration)> {
    let started = Instant::now();
    let results: Vec<anyhow::Result<Ws>> = futures_util::stream::iter(0..count)
        .map(|_| connect(target, read_buffer))
        .buffer_unordered(PARALLEL_HANDSHAKES)
        .collect()
        .await;
    let mut open = Vec::with_capacity(count);
    let mut first_error = None;
    for r in results {
        match r {
            Ok(ws) => open.push(ws),
            Err(e) if first_error.is_none() => first_error = Some(e),
            Err(_) => {}
        }
    }
    if let Some(e) = first_error {
        bail!(
            "opened {} of {count} connections; the first failure: {e:#}",
            open.len()
        );
    }
    Ok((open, started.elapsed()))
}

/// Closes politely (close frame, then the peer's answer), but never waits long: a
/// benchmark must end on time even if the server does not answer.
pub async fn close(mut ws: Ws) {
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        ws.close(None).await.ok();
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

/// What a server frame means to a benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A piece of the answer (`response_chunk`, or a dashboard `message` chunk).
    Chunk,
    /// `stream_end`: the turn is over.
    End,
    /// Anything else (`stream_start`, `thinking`, an `error`, …).
    Other,
}

#[derive(serde::Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    is_stream_chunk: Option<bool>,
}

/// Classifies a text frame. pawmock and the baseline write `type` first, so the usual
/// case is a prefix test; other servers' frames are parsed.
pub fn kind(text: &str) -> Kind {
    if let Some(rest) = text.strip_prefix(r#"{"type":""#) {
        if rest.starts_with(r#"response_chunk""#) {
            return Kind::Chunk;
        }
        if rest.starts_with(r#"stream_end""#) {
            return Kind::End;
        }
    }
    match serde_json::from_str::<Head>(text) {
        Ok(Head {
            kind: Some(k),
            is_stream_chunk,
        }) => match k.as_ref() {
            "response_chunk" => Kind::Chunk,
            "message" if is_stream_chunk == Some(true) => Kind::Chunk,
            "stream_end" => Kind::End,
            _ => Kind::Other,
        },
        _ => Kind::Other,
    }
}

/// The chat message as a reusable frame (cloning it is a reference count).
pub fn chat_frame(message: &str) -> Message {
    Message::text(message.to_owned())
}

/// Sends one frame, with the context benchmarks report.
pub async fn send(ws: &mut Ws, frame: &Message) -> anyhow::Result<()> {
    ws.send(frame.clone())
        .await
        .context("the server closed the connection while the message was sent")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_of_both_dialects_are_classified() {
        assert_eq!(
            kind(r#"{"type":"response_chunk","content":"a","session_id":"s"}"#),
            Kind::Chunk
        );
        assert_eq!(kind(r#"{"type":"stream_end","session_id":"s"}"#), Kind::End);
        assert_eq!(
            kind(r#"{"content":"a","type":"message","is_stream_chunk":true}"#),
            Kind::Chunk
        );
        assert_eq!(kind(r#"{"type":"message","content":"done"}"#), Kind::Other);
        assert_eq!(kind(r#"{"session_id":"s","type":"stream_end"}"#), Kind::End);
        assert_eq!(kind(r#"{"type":"error","message":"x"}"#), Kind::Other);
        assert_eq!(kind("not json"), Kind::Other);
    }
}
