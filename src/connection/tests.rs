//! The connection loop driven over `tokio::io::duplex` on tokio's paused clock: no TCP,
//! no server, the real [`serve`] with both ends a `WebSocketStream`. Virtual time only
//! moves when every task waits on a timer, so the offsets a client sees are exact.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::DuplexStream;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::{Setup, serve};
use crate::app::{App, ServeConfig};
use crate::library::Library;

/// A scenario streamed a word every 50 ms after a 100 ms first token, without jitter.
const STREAM: &str = r#"{
  "timing": { "first_token": "100ms", "chunk": "word", "chunk_delay": "50ms", "jitter": 0 },
  "turns": [ { "when": "any", "reply": [ { "say": "one two three four " } ] } ]
}"#;

/// An app over a temporary library holding `stream.json`.
fn app() -> (Arc<App>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("stream.json"), STREAM).expect("write scenario");
    (app_over(dir.path()), dir)
}

fn app_over(dir: &Path) -> Arc<App> {
    let loaded = Library::load(dir).expect("library");
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    App::new(loaded.library, ServeConfig::default())
}

/// The client's end of one connection served by [`serve`] in a task of its own.
struct Client {
    ws: WebSocketStream<DuplexStream>,
    serving: JoinHandle<()>,
    /// The virtual time the test's clock started (see [`Client::at`]).
    t0: Instant,
}

async fn connect(app: &Arc<App>, query: &str) -> Client {
    let setup = Setup::new(app, query);
    assert!(setup.refusal.is_none(), "{query} is refused");
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    let server = WebSocketStream::from_raw_socket(server_io, Role::Server, None).await;
    let ws = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
    let serving = tokio::spawn(serve(app.clone(), server, Box::new(setup)));
    Client {
        ws,
        serving,
        t0: Instant::now(),
    }
}

impl Client {
    async fn send(&mut self, frame: Value) {
        self.ws
            .send(Message::text(frame.to_string()))
            .await
            .expect("send");
    }

    /// Sends a chat message and restarts the test's clock at it.
    async fn chat(&mut self, text: &str) {
        self.t0 = Instant::now();
        self.send(json!({"action": "message", "content": text, "session_id": "s"}))
            .await;
    }

    /// Milliseconds of virtual time since the clock was restarted.
    fn at(&self) -> u128 {
        self.t0.elapsed().as_millis()
    }

    /// The next message, or `None` when nothing comes within a minute of virtual time.
    async fn message(&mut self) -> Option<Message> {
        tokio::time::timeout(Duration::from_secs(60), self.ws.next())
            .await
            .ok()
            .flatten()
            .map(|r| r.expect("socket error"))
    }

    /// The next text frame as JSON, with its offset in milliseconds.
    async fn frame(&mut self) -> (u128, Value) {
        match self.message().await {
            Some(Message::Text(t)) => (self.at(), serde_json::from_str(&t).expect("JSON")),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// Frames up to and including the next `stream_end`, as (offset, type, content).
    async fn until_stream_end(&mut self) -> Vec<(u128, String, String)> {
        let mut out = Vec::new();
        loop {
            let (at, f) = self.frame().await;
            let kind = f["type"].as_str().unwrap_or_default().to_owned();
            let content = f["content"].as_str().unwrap_or_default().to_owned();
            let end = kind == "stream_end";
            out.push((at, kind, content));
            if end {
                return out;
            }
        }
    }

    /// The stored history of session `s`, read through `switch_session`.
    async fn history(&mut self) -> Vec<Value> {
        self.send(json!({"action": "switch_session", "session_id": "s"}))
            .await;
        let (_, f) = self.frame().await;
        assert_eq!(f["type"], "session_switched");
        f["messages"].as_array().expect("messages").clone()
    }
}

fn chunk(at: u128, word: &str) -> (u128, String, String) {
    (at, "response_chunk".into(), word.into())
}

fn end(at: u128) -> (u128, String, String) {
    (at, "stream_end".into(), String::new())
}

#[tokio::test(start_paused = true)]
async fn a_turn_plays_at_its_exact_offsets_and_its_answer_is_stored() {
    let (app, _dir) = app();
    let mut c = connect(&app, "dialect=docs&scenario=stream").await;
    c.chat("go").await;
    assert_eq!(
        c.until_stream_end().await,
        vec![
            chunk(100, "one "),
            chunk(150, "two "),
            chunk(200, "three "),
            chunk(250, "four "),
            end(300),
        ]
    );
    let history = c.history().await;
    assert_eq!(history[1]["content"], "one two three four ");
}

#[tokio::test(start_paused = true)]
async fn stop_mid_turn_ends_it_at_once_and_nothing_follows() {
    let (app, _dir) = app();
    let mut c = connect(&app, "dialect=docs&scenario=stream").await;
    c.chat("go").await;
    assert_eq!(c.frame().await.1["content"], "one ");
    c.send(json!({"action": "stop"})).await;
    let (at, end) = c.frame().await;
    assert_eq!((at, end["type"].as_str()), (100, Some("stream_end")));
    assert!(c.message().await.is_none(), "a frame followed the stop");
    let history = c.history().await;
    assert_eq!(history[1]["content"], "one \n\n[Response interrupted]");
}

#[tokio::test(start_paused = true)]
async fn a_new_message_mid_turn_ends_the_old_turn_and_plays_the_new_one() {
    let (app, _dir) = app();
    let mut c = connect(&app, "dialect=docs&scenario=stream").await;
    c.chat("first").await;
    assert_eq!(c.frame().await.1["content"], "one ");
    c.chat("second").await;
    let mut frames = c.until_stream_end().await;
    assert_eq!(frames, vec![end(0)], "the old turn ends first");
    frames = c.until_stream_end().await;
    assert_eq!(
        frames,
        vec![
            chunk(100, "one "),
            chunk(150, "two "),
            chunk(200, "three "),
            chunk(250, "four "),
            end(300),
        ],
        "the new turn plays whole, timed from its message"
    );
    let history = c.history().await;
    let contents: Vec<&str> = history
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(
        contents,
        [
            "first",
            "one \n\n[Response interrupted]",
            "second",
            "one two three four "
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn the_handshake_stage_refuses_before_any_socket() {
    let (app, _dir) = app();
    let refused = Setup::new(
        &app,
        "scenario=stream&fault=reject:status=429:body=Slow%20down",
    );
    let refusal = refused
        .refusal
        .expect("a reject fault refuses the handshake");
    assert_eq!((refusal.status, refusal.body.as_str()), (429, "Slow down"));
    // `refuse_first` counts attempts to the same URL: the third one is let in.
    let query = "scenario=stream&fault=refuse_first:count=2";
    let statuses: Vec<Option<u16>> = (0..3)
        .map(|_| Setup::new(&app, query).refusal.map(|r| r.status))
        .collect();
    assert_eq!(statuses, [Some(503), Some(503), None]);
    assert!(Setup::new(&app, "scenario=stream").refusal.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_connect_timer_closes_with_its_code_on_time_even_mid_turn() {
    let (app, _dir) = app();
    let mut c = connect(
        &app,
        "dialect=docs&scenario=stream&fault=close:code=4003:reason=Unauthorized:after=175ms:from=connect",
    )
    .await;
    c.chat("go").await;
    assert_eq!(c.frame().await.1["content"], "one ");
    assert_eq!(c.frame().await.1["content"], "two ");
    match c.message().await {
        Some(Message::Close(Some(frame))) => {
            assert_eq!(c.at(), 175);
            assert_eq!(frame.code, CloseCode::from(4003));
            assert_eq!(frame.reason.as_str(), "Unauthorized");
        }
        other => panic!("expected the connect timer's close, got {other:?}"),
    }
    assert!(c.message().await.is_none());
    c.serving.await.expect("the connection task ends");
}

#[tokio::test(start_paused = true)]
async fn a_connect_timer_abort_drops_the_socket_without_a_close_frame() {
    let (app, _dir) = app();
    let mut c = connect(
        &app,
        "dialect=docs&scenario=stream&fault=abort:after=2s:from=connect",
    )
    .await;
    match tokio::time::timeout(Duration::from_secs(60), c.ws.next()).await {
        Ok(None | Some(Err(_))) => assert_eq!(c.at(), 2000),
        other => panic!("expected the socket to end without a close frame, got {other:?}"),
    }
    c.serving.await.expect("the connection task ends");
}

#[tokio::test(start_paused = true)]
async fn an_event_fault_drops_the_event_it_names() {
    let (app, _dir) = app();
    let mut c = connect(
        &app,
        "dialect=docs&scenario=stream&fault=drop:events=text_chunk:at_step=2",
    )
    .await;
    c.chat("go").await;
    let words: Vec<String> = c
        .until_stream_end()
        .await
        .into_iter()
        .filter(|(_, kind, _)| kind == "response_chunk")
        .map(|(_, _, w)| w)
        .collect();
    assert_eq!(words, ["one ", "three ", "four "]);
}

#[tokio::test(start_paused = true)]
async fn an_event_fault_duplicates_the_event_it_names() {
    let (app, _dir) = app();
    let mut c = connect(
        &app,
        "dialect=docs&scenario=stream&fault=duplicate:events=text_chunk:at_step=3",
    )
    .await;
    c.chat("go").await;
    let frames = c.until_stream_end().await;
    assert_eq!(
        frames,
        vec![
            chunk(100, "one "),
            chunk(150, "two "),
            chunk(200, "three "),
            chunk(200, "three "),
            chunk(250, "four "),
            end(300),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn an_event_fault_closes_the_connection_after_the_event_it_names() {
    let (app, _dir) = app();
    let mut c = connect(
        &app,
        "dialect=docs&scenario=stream&fault=close:code=1011:reason=boom:events=text_chunk:after_step=2",
    )
    .await;
    c.chat("go").await;
    assert_eq!(c.frame().await.1["content"], "one ");
    assert_eq!(c.frame().await.1["content"], "two ");
    match c.message().await {
        Some(Message::Close(Some(frame))) => {
            assert_eq!(c.at(), 150);
            assert_eq!(frame.code, CloseCode::Error);
            assert_eq!(frame.reason.as_str(), "boom");
        }
        other => panic!("expected the fault's close, got {other:?}"),
    }
    assert!(c.message().await.is_none());
    c.serving.await.expect("the connection task ends");
    // The cut turn's answer is stored as interrupted.
    let history = app.sessions.history("s");
    assert_eq!(history[1].content, "one two \n\n[Response interrupted]");
}

#[tokio::test(start_paused = true)]
async fn every_frame_written_is_counted_and_journaled_once_with_its_schedule() {
    let (app, _dir) = app();
    let mut c = connect(
        &app,
        "dialect=docs&scenario=stream&run=w&fault=duplicate:events=text_chunk:at_step=3",
    )
    .await;
    c.chat("go").await;
    assert_eq!(c.until_stream_end().await.len(), 6);
    // Let the loop go round to its wait, where it shows its state to the control API.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let journaled: Vec<(String, Option<f64>, Option<f64>)> = app
        .control
        .journal
        .page(Some("w"), 0)
        .entries
        .into_iter()
        .filter_map(|e| match e.what {
            crate::control::What::FrameSent {
                frame_type,
                scheduled_ms,
                actual_ms,
                ..
            } => Some((frame_type.into_owned(), scheduled_ms, actual_ms)),
            _ => None,
        })
        .collect();
    let chunk = |ms: f64| ("response_chunk".to_owned(), Some(ms), Some(ms));
    assert_eq!(
        journaled,
        [
            chunk(100.0),
            chunk(150.0),
            chunk(200.0),
            chunk(200.0),
            chunk(250.0),
            ("stream_end".to_owned(), Some(300.0), Some(300.0)),
        ]
    );
    let metrics = app.metrics.encode();
    for series in [
        "pawmock_frames_sent_total{kind=\"text_chunk\"} 5",
        "pawmock_frames_sent_total{kind=\"stream_end\"} 1",
    ] {
        assert!(metrics.contains(series), "{series} not in {metrics}");
    }
    let live = app.control.registry.list(Some("w"));
    assert_eq!(live[0].to_json()["frames_sent"], 6);
}
