//! `stop` ends the turn in flight at once with `stream_end`; a new message during a
//! turn cancels the old one the same way first.

mod common;

use std::time::Duration;

use common::{Server, answer_text, types};
use pawmock::ServeConfig;
use serde_json::json;

async fn slow_server() -> Server {
    // Speed 1: the `slow` fixture sends a chunk every 200 ms for 4 s.
    Server::start(&common::fixtures(), ServeConfig::default()).await
}

#[tokio::test]
async fn stop_mid_answer_ends_the_turn_with_stream_end_and_nothing_after() {
    let server = slow_server().await;
    let mut c = server.connect("dialect=docs&scenario=slow").await;
    c.send(json!({"action": "message", "content": "go", "session_id": "s"}))
        .await;
    let first = c.next().await;
    assert_eq!(first["type"], "response_chunk");
    c.send(json!({"action": "stop"})).await;
    let mut rest = Vec::new();
    loop {
        let f = c.next().await;
        let end = f["type"] == "stream_end";
        rest.push(f);
        if end {
            break;
        }
    }
    // At most a chunk or two were already on the way; the turn did not play out.
    assert!(rest.len() <= 3, "stop did not cut the turn short: {rest:?}");
    assert!(
        c.silent_for(Duration::from_millis(600)).await,
        "nothing follows the stream_end"
    );
    // The partial answer is stored, marked as interrupted.
    c.send(json!({"action": "switch_session", "session_id": "s"}))
        .await;
    let history = c.next().await;
    let stored = history["messages"][1]["content"].as_str().unwrap();
    assert!(
        stored.starts_with("one ") && stored.ends_with("[Response interrupted]"),
        "{stored}"
    );
}

#[tokio::test]
async fn stop_with_nothing_playing_still_answers_stream_end() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=dashboard").await;
    c.next().await;
    c.send(json!({"action": "stop"})).await;
    assert_eq!(c.next().await, json!({"type": "stream_end"}));
}

#[tokio::test]
async fn a_new_message_cancels_the_turn_in_flight_first() {
    let server = slow_server().await;
    let mut c = server.connect("dialect=dashboard&scenario=slow").await;
    c.next().await; // connection_info
    c.send(json!({"action": "chat", "message": "first"})).await;
    assert_eq!(c.next().await["type"], "stream_start");
    assert_eq!(
        c.next().await["event_type"],
        "thinking",
        "the turn's opening"
    );
    assert_eq!(c.next().await["type"], "message");
    c.send(json!({"action": "chat", "message": "second"})).await;
    let mut seen = Vec::new();
    loop {
        let f = c.next().await;
        let is_start = f["type"] == "stream_start";
        seen.push(f);
        if is_start {
            break;
        }
    }
    let t = types(&seen);
    assert_eq!(t.last().unwrap(), "stream_start");
    assert_eq!(
        t[t.len() - 2],
        "stream_end",
        "the first turn ends before the second starts: {t:?}"
    );
    c.send(json!({"action": "stop"})).await;
    let tail = c.until_stream_end().await;
    assert!(answer_text(&tail).len() < 40);
}

#[tokio::test]
async fn a_client_that_closes_mid_turn_does_not_disturb_another_connection() {
    let server = slow_server().await;
    let mut leaver = server.connect("dialect=docs&scenario=slow").await;
    let mut stayer = server
        .connect("dialect=docs&scenario=weather&speed=0")
        .await;
    leaver
        .send(json!({"action": "message", "content": "x"}))
        .await;
    leaver.next().await;
    leaver.ws.close(None).await.unwrap();
    let frames = stayer.ask("weather in Paris").await;
    assert_eq!(answer_text(&frames), "It's **18°C** and cloudy in Paris.");
}

#[tokio::test]
async fn stop_is_heard_even_at_speed_zero_when_the_whole_answer_is_due_at_once() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let server = Server::instant(&common::bundled()).await;
    let mut c = server.connect("dialect=docs&scenario=long-markdown").await;
    // Both frames in one write: the stop is already waiting when the turn starts.
    let chat = json!({"action": "message", "content": "go"}).to_string();
    let stop = json!({"action": "stop"}).to_string();
    c.ws.feed(Message::text(chat)).await.unwrap();
    c.ws.feed(Message::text(stop)).await.unwrap();
    c.ws.flush().await.unwrap();
    let frames = c.until_stream_end().await;
    // long-markdown has over 600 chunks; the connection looked at its client after the
    // first batch and ended the turn there.
    assert!(
        frames.len() < 200,
        "{} frames before stream_end",
        frames.len()
    );
}
