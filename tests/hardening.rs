//! Issue 11: whatever the input or the load, no panic, no hang, bounded memory. Each
//! test here reproduced a defect on the code before its fix.

mod common;

use common::{Server, answer_text};
use serde_json::Value;

/// The connection answers a normal chat after whatever came before.
async fn still_answers(c: &mut common::Client) {
    let frames = c.ask("weather").await;
    assert_eq!(answer_text(&frames), "It's **18°C** and cloudy in Paris.");
}

fn error_text(f: &Value) -> String {
    assert_eq!(f["type"], "error", "{f}");
    f["message"]
        .as_str()
        .or(f["content"].as_str())
        .unwrap()
        .to_owned()
}

// ---- #1 durations: one 24 h bound from every source --------------------------------

#[tokio::test]
async fn huge_numeric_fault_durations_are_refused_at_connect_instead_of_panicking() {
    let server = Server::fixtures().await;
    for fault in [
        "latency:delay=18446744073709551615",
        "latency:delay=1000000000000000",
        "stall:duration=18446744073709551615",
        "slice:interval=18446744073709551615",
        "latency:distribution=uniform:min=1:max=18446744073709551615",
        "close:after=18446744073709551615:from=connect",
    ] {
        let mut c = server
            .connect(&format!("dialect=docs&scenario=weather&fault={fault}"))
            .await;
        let e = error_text(&c.next().await);
        assert!(e.contains("24h"), "{fault}: {e}");
        still_answers(&mut c).await;
    }
}

#[test]
fn check_reports_huge_numeric_durations_in_scenarios_with_file_line_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("long.json"),
        "{\n  \"timing\": { \"first_token\": 1e19 },\n  \"turns\": [ { \"reply\": [ { \"say\": \"a\" } ] } ]\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pause.json"),
        "{\n  \"turns\": [ { \"reply\": [ { \"pause\": 18446744073709551615 } ] } ]\n}\n",
    )
    .unwrap();
    let out = common::failed_check(dir.path());
    let d = dir.path().display();
    for expected in [
        format!(
            "{d}/long.json:2:30: timing.first_token: duration 10000000000000000000 is longer than the 24h"
        ),
        format!(
            "{d}/pause.json:2:38: turns[0].reply[0].pause: duration 18446744073709551615 is longer than the 24h"
        ),
    ] {
        assert!(out.contains(&expected), "missing `{expected}` in:\n{out}");
    }
    assert!(out.contains("24h"), "{out}");
}

// ---- #2 handshake timeout, pending cap, shutdown ----------------------------------

use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn server_with(config: pawmock::app::ServeConfig) -> (Server, tokio::task::JoinHandle<()>) {
    let loaded = pawmock::library::Library::load(&common::fixtures()).unwrap();
    let app = pawmock::app::App::new(loaded.library, config);
    let listener = pawmock::server::bind("127.0.0.1", 0).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = pawmock::server::spawn(app.clone(), listener);
    (Server { addr, app }, handle)
}

fn limited(handshake_timeout: Duration, max_pending: usize) -> pawmock::app::ServeConfig {
    pawmock::app::ServeConfig {
        speed: 0.0,
        handshake_timeout,
        max_pending,
        ..Default::default()
    }
}

/// Reads until the server closes the socket; panics if it stays open past `patience`.
async fn closed_within(sock: &mut TcpStream, patience: Duration) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout(patience, sock.read(&mut buf)).await {
            Err(_) => panic!("the socket was still open after {patience:?}"),
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn silent_and_trickling_sockets_are_closed_after_the_handshake_timeout() {
    let (server, _h) = server_with(limited(Duration::from_millis(500), 1024)).await;
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut trickle = TcpStream::connect(server.addr).await.unwrap();
    trickle.write_all(b"GET /ws HTTP/1.1\r\n").await.unwrap();
    let trickling = tokio::spawn(async move {
        // One header byte every 100 ms: a slowloris never finishes its headers.
        for _ in 0..200 {
            if trickle.write_all(b"X").await.is_err() {
                return closed_within(&mut trickle, Duration::from_secs(1)).await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the trickling socket was never closed");
    });
    closed_within(&mut silent, Duration::from_secs(8)).await;
    tokio::time::timeout(Duration::from_secs(15), trickling)
        .await
        .expect("the trickling socket is closed")
        .unwrap();
    // The server still serves.
    still_answers(&mut server.connect("dialect=docs").await).await;
}

#[tokio::test]
async fn sockets_past_the_pending_cap_are_closed_and_websockets_do_not_count() {
    let (server, _h) = server_with(limited(Duration::from_secs(2), 2)).await;
    // Open WebSockets are not pending: three of them with a cap of two.
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(server.connect("dialect=docs").await);
    }
    let _a = TcpStream::connect(server.addr).await.unwrap();
    let _b = TcpStream::connect(server.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    let waited = closed_within(&mut third, Duration::from_secs(1)).await;
    assert!(waited < Duration::from_secs(1));
    // Once the silent ones time out there is room again, and the open ones never noticed.
    tokio::time::sleep(Duration::from_secs(3)).await;
    still_answers(&mut server.connect("dialect=docs").await).await;
    for c in &mut open {
        still_answers(c).await;
    }
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_half_sent_request() {
    let (server, handle) = server_with(limited(Duration::from_secs(600), 1024)).await;
    let mut half = TcpStream::connect(server.addr).await.unwrap();
    half.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut ws = server.connect("dialect=docs").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.app.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(8), handle)
        .await
        .expect("the server stops although a request is half sent")
        .unwrap();
    let (_, ending) = ws.until_closed().await;
    assert_eq!(
        ending,
        common::Ending::Closed(1001, "pawmock is shutting down".into())
    );
}
