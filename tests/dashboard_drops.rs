//! A dashboard socket that drops mid-turn does not cancel the turn (addendum C.6): the
//! rest of it goes to the other dashboard connections (a reconnecting tab included)
//! and the whole answer is stored. The docs dialect keeps cancelling.

mod common;

use std::time::Duration;

use common::{Server, answer_text};
use pawmock::ServeConfig;
use serde_json::{Value, json};

const FULL: &str = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty";

async fn slow_server() -> Server {
    // Speed 1: the `slow` fixture sends a chunk every 200 ms for 4 s.
    Server::start(&common::fixtures(), ServeConfig::default()).await
}

/// Waits (up to the harness's patience) until `session` holds an assistant message.
async fn stored_answer(server: &Server, session: &str) -> String {
    for _ in 0..200 {
        let h = server.app.sessions.history(session);
        if let Some(m) = h.iter().find(|m| m.role == "assistant") {
            return m.content.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no answer stored in {session}");
}

#[tokio::test]
async fn the_rest_of_a_dropped_turn_reaches_the_other_tabs_and_the_full_answer_is_stored() {
    let server = slow_server().await;
    let mut leaver = server.connect("dialect=dashboard&scenario=slow").await;
    let session = leaver.next().await["id"].as_str().unwrap().to_owned();
    let mut other = server.connect("dialect=dashboard").await;
    other.next().await;

    leaver
        .send(json!({"action": "chat", "message": "slow please"}))
        .await;
    loop {
        if leaver.next().await["type"] == "message" {
            break;
        }
    }
    // The socket vanishes (no close frame), as when a laptop lid shuts.
    drop(leaver);

    // A tab that reconnects meanwhile gets the rest too.
    let mut reconnected = server.connect("dialect=dashboard").await;
    assert_eq!(reconnected.next().await["type"], "connection_info");

    let mut seen: Vec<Value> = Vec::new();
    loop {
        let f = other.next().await;
        let end = f["type"] == "stream_end";
        seen.push(f);
        if end {
            break;
        }
    }
    let text = answer_text(&seen);
    assert!(
        !text.is_empty() && FULL.ends_with(&text),
        "the other tab gets the rest of the answer: {text:?}"
    );
    assert!(text.ends_with("twenty"));
    let rest = reconnected.until_stream_end().await;
    assert!(answer_text(&rest).ends_with("twenty"));
    assert_eq!(
        stored_answer(&server, &session).await,
        FULL,
        "stored whole, not interrupted"
    );
}

#[tokio::test]
async fn with_no_other_tab_a_dropped_turn_still_runs_to_the_end_and_is_stored() {
    let server = slow_server().await;
    let mut leaver = server.connect("dialect=dashboard&scenario=slow").await;
    let session = leaver.next().await["id"].as_str().unwrap().to_owned();
    leaver
        .send(json!({"action": "chat", "message": "slow"}))
        .await;
    assert_eq!(leaver.next().await["type"], "stream_start");
    leaver.ws.close(None).await.unwrap();
    drop(leaver);
    assert_eq!(stored_answer(&server, &session).await, FULL);
}

#[tokio::test]
async fn stop_still_cancels_and_the_docs_dialect_still_stores_an_interrupted_answer() {
    let server = slow_server().await;
    let mut c = server.connect("dialect=dashboard&scenario=slow").await;
    let session = c.next().await["id"].as_str().unwrap().to_owned();
    c.send(json!({"action": "chat", "message": "slow"})).await;
    loop {
        if c.next().await["type"] == "message" {
            break;
        }
    }
    c.send(json!({"action": "stop"})).await;
    c.until_stream_end().await;
    assert!(
        stored_answer(&server, &session)
            .await
            .ends_with("[Response interrupted]")
    );

    let mut docs = server.connect("dialect=docs&scenario=slow").await;
    docs.send(json!({"action": "message", "content": "slow", "session_id": "websocket_docsdrop"}))
        .await;
    docs.next().await;
    drop(docs);
    assert!(
        stored_answer(&server, "websocket_docsdrop")
            .await
            .ends_with("[Response interrupted]")
    );
}

#[tokio::test]
async fn switching_session_mid_turn_unbinds_the_turn_whose_rest_then_reaches_every_tab() {
    // The real backend re-binds the socket; the old turn's chat id has no socket any
    // more, so its remaining chunks and stream_end go to every dashboard socket,
    // including the one now showing another session (protocol reference §3.4).
    let server = slow_server().await;
    let mut c = server.connect("dialect=dashboard&scenario=slow").await;
    let session = c.next().await["id"].as_str().unwrap().to_owned();
    let mut other = server.connect("dialect=dashboard").await;
    other.next().await;
    c.send(json!({"action": "chat", "message": "slow"})).await;
    loop {
        if c.next().await["type"] == "message" {
            break;
        }
    }
    c.send(json!({"action": "switch_session", "session_id": "websocket_weather"}))
        .await;
    let mut seen = Vec::new();
    loop {
        let f = c.next().await;
        let end = f["type"] == "stream_end";
        seen.push(f);
        if end {
            break;
        }
    }
    let history_at = seen
        .iter()
        .position(|f| f["type"] == "session_history")
        .expect("the switch is answered");
    assert_eq!(seen[history_at]["session_id"], "websocket_weather");
    assert!(
        answer_text(&seen[history_at..]).ends_with("twenty"),
        "the rest follows on the same socket"
    );
    let rest = other.until_stream_end().await;
    assert!(
        answer_text(&rest).ends_with("twenty"),
        "and on the other tab"
    );
    assert_eq!(stored_answer(&server, &session).await, FULL);
}

/// A frozen turn whose tab closes is not held for ever: with nobody left to resume it,
/// it plays on and its whole answer is stored (and nothing spins while it waits).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_turn_whose_tab_closes_plays_on_and_is_stored() {
    let server = Server::instant(&common::bundled()).await;
    let mut c = server
        .connect("dialect=dashboard&scenario=hello&freeze=mid-answer&run=frozen-drop")
        .await;
    let session = c.next().await["id"].as_str().unwrap().to_owned();
    c.send(json!({"action": "chat", "message": "hi"})).await;
    let waited = common::http::request(
        server.addr,
        "POST",
        "/__pawmock/wait",
        &[],
        br#"{"run": "frozen-drop", "state": "frozen", "timeout": "10s"}"#,
    )
    .await;
    assert_eq!(waited.status, 200, "{}", waited.json());
    drop(c);
    let answer = stored_answer(&server, &session).await;
    assert!(answer.contains("PocketPaw"), "{answer}");
    // The server still answers (no task spins on the held turn).
    let mut fresh = server.connect("dialect=dashboard&scenario=hello").await;
    fresh.next().await;
    assert!(!answer_text(&fresh.chat("hi").await).is_empty());
}
