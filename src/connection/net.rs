//! The panic net under every connection task.
//!
//! A bug that panics while one connection is served must not look like a network
//! failure: the client gets a close frame with 1011 ("internal error") and a reason, the
//! log says which connection, and no other connection notices (each has its own task).

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tracing::error;

/// Runs `serve` on `ws`; if it panics, logs the panic with the connection id and closes
/// the socket with 1011.
pub(crate) async fn guarded<S, F>(id: &str, ws: &mut WebSocketStream<S>, serve: F)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    F: for<'a> FnOnce(&'a mut WebSocketStream<S>) -> BoxFuture<'a, ()>,
{
    let Err(panic) = AssertUnwindSafe(serve(ws)).catch_unwind().await else {
        return;
    };
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    error!(conn = %id, panic = %what, "connection task panicked; closing it with 1011 (a pawmock bug: please report it)");
    let _ = ws
        .close(Some(CloseFrame {
            code: CloseCode::Error,
            reason: "pawmock internal error: see the server log".into(),
        }))
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::Role;

    /// Issue 11 #1: a panicking connection task dropped TCP without a close frame.
    #[tokio::test]
    async fn a_panic_closes_the_connection_with_1011() {
        let (server_io, client_io) = tokio::io::duplex(4096);
        let mut server = WebSocketStream::from_raw_socket(server_io, Role::Server, None).await;
        let mut client = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
        let serving = tokio::spawn(async move {
            guarded("c1", &mut server, |_ws| {
                Box::pin(async { panic!("overflow when adding duration to instant") })
            })
            .await;
        });
        match client.next().await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(frame.code, CloseCode::Error);
                assert!(frame.reason.contains("internal error"), "{}", frame.reason);
            }
            other => panic!("expected a 1011 close, got {other:?}"),
        }
        serving.await.expect("the net catches the panic");
    }

    #[tokio::test]
    async fn a_normal_end_sends_nothing_more() {
        let (server_io, client_io) = tokio::io::duplex(4096);
        let mut server = WebSocketStream::from_raw_socket(server_io, Role::Server, None).await;
        let mut client = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
        guarded("c1", &mut server, |ws| {
            Box::pin(async move {
                ws.send(Message::text("hi")).await.unwrap();
            })
        })
        .await;
        drop(server);
        assert_eq!(client.next().await.unwrap().unwrap(), Message::text("hi"));
        assert!(client.next().await.is_none_or(|r| r.is_err()));
    }
}
