//! A raw connection driven over `tokio::io::duplex` on tokio's paused clock: every
//! frame it writes, fragmented or cut by chaos, goes through the same [`Wire`] as a
//! PocketPaw connection's, so it is counted in `/metrics`, journaled with its schedule
//! and shown in the registry once.
//!
//! [`Wire`]: super::Wire

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::{pinned, serve};
use crate::app::{App, ServeConfig};
use crate::connection::Setup;
use crate::control::What;
use crate::library::Library;

/// A greeting, then one exchange: a text, a binary (bytes 0 to 3) and a text frame,
/// 100 ms apart.
const RECORDING: &str = r#"{"version": 1, "title": "made up"}
[0.05, "out", "HELLO"]
[1.0, "in", "ASK"]
[0.1, "out", "one"]
[0.1, "out_binary", "AAECAw=="]
[0.1, "out", "three"]
"#;

fn app() -> (Arc<App>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("made-up.jsonl"), RECORDING).expect("write recording");
    let loaded = Library::load(dir.path()).expect("library");
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    (App::new(loaded.library, ServeConfig::default()), dir)
}

/// Opens a raw connection with `query`, sends the recorded client frame, and reads the
/// four data messages that follow (the greeting and the exchange).
async fn exchange(app: &Arc<App>, query: &str) -> Vec<Message> {
    let setup = Setup::new(app, query);
    let (scenario, script) = pinned(app, &setup).expect("a raw recording is pinned");
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    let server = WebSocketStream::from_raw_socket(server_io, Role::Server, None).await;
    let mut ws = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
    tokio::spawn(serve(app.clone(), server, setup, scenario, script));
    ws.send(Message::text("ASK")).await.expect("send");
    let mut got = Vec::new();
    while got.len() < 4 {
        let m = tokio::time::timeout(Duration::from_secs(60), ws.next())
            .await
            .expect("a frame within a minute")
            .expect("the socket is open")
            .expect("no socket error");
        if matches!(m, Message::Text(_) | Message::Binary(_)) {
            got.push(m);
        }
    }
    // Let the loop go round to its wait, where it shows its state to the control API.
    tokio::time::sleep(Duration::from_secs(1)).await;
    got
}

/// The journal's frame entries of run `run`: (type, scheduled ms).
fn journaled(app: &App, run: &str) -> Vec<(String, Option<f64>)> {
    app.control
        .journal
        .page(Some(run), 0)
        .entries
        .into_iter()
        .filter_map(|e| match e.what {
            What::FrameSent {
                frame_type,
                scheduled_ms,
                ..
            } => Some((frame_type.into_owned(), scheduled_ms)),
            _ => None,
        })
        .collect()
}

fn metric(app: &App, series: &str) -> String {
    let text = app.metrics.encode();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ').map(str::to_owned))
        .unwrap_or_else(|| panic!("{series} not in {text}"))
}

#[tokio::test(start_paused = true)]
async fn a_fragmented_raw_frame_is_counted_journaled_and_shown_once() {
    let (app, _dir) = app();
    let got = exchange(
        &app,
        "scenario=made-up&run=f&fault=fragment:pieces=2:at_step=3",
    )
    .await;
    assert_eq!(
        got,
        [
            Message::text("HELLO"),
            Message::text("one"),
            Message::binary(vec![0u8, 1, 2, 3]),
            // Sent in two WebSocket frames, reassembled by the client.
            Message::text("three"),
        ]
    );
    let text = |ms: f64| ("text".to_owned(), Some(ms));
    assert_eq!(
        journaled(&app, "f"),
        [
            text(50.0),
            text(100.0),
            ("binary".to_owned(), Some(200.0)),
            text(300.0),
        ]
    );
    assert_eq!(
        metric(&app, "pawmock_frames_sent_total{kind=\"frame\"}"),
        "4"
    );
    assert_eq!(metric(&app, "pawmock_bytes_sent_total"), "17");
    let live = app.control.registry.list(Some("f"));
    assert_eq!(live[0].to_json()["frames_sent"], 4);
}

#[tokio::test(start_paused = true)]
async fn a_raw_frame_chaos_cuts_is_counted_as_it_went_out() {
    let (app, _dir) = app();
    let got = exchange(&app, "scenario=made-up&run=c&fault=corrupt:at_step=2").await;
    assert_eq!(got[2], Message::binary(vec![0u8, 1]));
    let types: Vec<String> = journaled(&app, "c").into_iter().map(|(t, _)| t).collect();
    assert_eq!(types, ["text", "text", "binary", "text"]);
    assert_eq!(
        metric(&app, "pawmock_frames_sent_total{kind=\"frame\"}"),
        "4"
    );
    // HELLO, one, the binary frame's first half, three.
    assert_eq!(metric(&app, "pawmock_bytes_sent_total"), "15");
}
