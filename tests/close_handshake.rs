//! When pawmock closes a connection it waits for the client's close frame before it
//! closes TCP (RFC 6455 §7.1.1). Closing at once with frames the client already sent
//! still unread makes the kernel answer with a reset, and a browser that sees the reset
//! before it has read pawmock's close frame reports 1006 instead of the code that was
//! sent (a dashboard then misses its 4003 "do not reconnect" branch).

mod common;

use std::time::Duration;

use common::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens `/ws?{query}` over a raw socket and reads the 101 response.
async fn handshake(server: &Server, query: &str) -> TcpStream {
    let mut sock = TcpStream::connect(server.addr).await.unwrap();
    let request = format!(
        "GET /ws?{query} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        server.addr
    );
    sock.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        sock.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    sock
}

/// Reads one unmasked server frame: (opcode, payload).
async fn server_frame(sock: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    sock.read_exact(&mut head).await.unwrap();
    let len = match head[1] & 0x7f {
        126 => {
            let mut n = [0u8; 2];
            sock.read_exact(&mut n).await.unwrap();
            u16::from_be_bytes(n) as usize
        }
        127 => panic!("no frame here is that long"),
        n => n as usize,
    };
    let mut payload = vec![0u8; len];
    sock.read_exact(&mut payload).await.unwrap();
    (head[0] & 0x0f, payload)
}

/// A masked client close frame with `code`.
fn client_close(code: u16) -> Vec<u8> {
    let mask = [1u8, 2, 3, 4];
    let body = code.to_be_bytes();
    let mut frame = vec![0x88, 0x80 | body.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(body.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

#[tokio::test]
async fn a_chaos_close_waits_for_the_clients_close_frame_before_closing_tcp() {
    let server = Server::fixtures().await;
    let mut sock = handshake(
        &server,
        "scenario=weather&fault=close:code=4003:reason=Unauthorized:after=0s:from=connect",
    )
    .await;
    // Skip anything before the close frame (there is nothing today: the fault fires
    // before the greeting).
    let code = loop {
        let (opcode, payload) = server_frame(&mut sock).await;
        if opcode == 0x8 {
            break u16::from_be_bytes([payload[0], payload[1]]);
        }
    };
    assert_eq!(code, 4003);

    // The server must still be there, waiting for our half of the closing handshake.
    let mut byte = [0u8; 1];
    match tokio::time::timeout(Duration::from_millis(300), sock.read(&mut byte)).await {
        Err(_) => {}
        Ok(read) => panic!(
            "pawmock closed TCP before the client's close frame (read gave {read:?}); \
             a client that had frames in flight gets a reset and loses the 4003"
        ),
    }

    // Our close frame completes the handshake, and then pawmock closes TCP.
    sock.write_all(&client_close(4003)).await.unwrap();
    let read = tokio::time::timeout(common::PATIENCE, sock.read(&mut byte))
        .await
        .expect("pawmock closes TCP once the closing handshake is complete");
    assert_eq!(read.unwrap(), 0, "a clean end of stream, not a reset");
}

#[tokio::test]
async fn a_client_that_never_answers_the_close_is_let_go_after_a_second() {
    let server = Server::fixtures().await;
    let mut sock = handshake(
        &server,
        "scenario=weather&fault=close:code=4003:after=0s:from=connect",
    )
    .await;
    let (opcode, _) = server_frame(&mut sock).await;
    assert_eq!(opcode, 0x8);
    let started = std::time::Instant::now();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(common::PATIENCE, sock.read(&mut byte))
        .await
        .expect("pawmock does not wait for ever");
    assert_eq!(read.unwrap(), 0);
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "waited {:?} for the client's close frame",
        started.elapsed()
    );
}
