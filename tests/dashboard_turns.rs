//! Dashboard-dialect turns as the real backend streams them (addendum C.1–C.3): the
//! empty thinking event, agent errors by path 1 or 2 (never `type:"error"` mid-turn),
//! and `system_event`s that reach every dashboard connection.

mod common;

use std::time::Duration;

use common::{Server, answer_text, types};
use serde_json::{Value, json};

fn library(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

const FAILING: &str = r#"{"turns": [
  {"when": {"contains": "event"}, "reply": [{"say": "Half an "}, {"error": "❌ API key missing"}]},
  {"when": {"contains": "exception"}, "reply": [{"say": "Half an "}, {"error": "disk full", "dashboard_error": "exception"}]}
]}"#;

#[tokio::test]
async fn an_agent_error_reported_by_the_backend_is_a_failed_agent_tool_and_a_chunk() {
    let dir = library(&[("failing.json", FAILING)]);
    let server = Server::instant(dir.path()).await;
    let mut c = server.connect("dialect=dashboard&scenario=failing").await;
    let id = c.next().await["id"].as_str().unwrap().to_owned();
    let frames = c.chat("an event please").await;
    assert!(!types(&frames).contains(&"error".to_owned()), "{frames:?}");
    let n = frames.len();
    assert_eq!(
        frames[n - 3],
        json!({"type": "system_event", "event_type": "tool_result", "data": {"name": "agent", "result": "❌ API key missing", "status": "error"}})
    );
    assert_eq!(
        frames[n - 2],
        json!({"type": "message", "content": "❌ API key missing", "is_stream_chunk": true, "metadata": {}})
    );
    assert_eq!(frames[n - 1], json!({"type": "stream_end"}));
    // Stored: the user message and the text streamed before the error, not the error.
    let history = server.app.sessions.history(&id);
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].content, "Half an ");
}

#[tokio::test]
async fn an_agent_exception_is_one_message_and_stores_no_answer() {
    let dir = library(&[("failing.json", FAILING)]);
    let server = Server::instant(dir.path()).await;
    let mut c = server.connect("dialect=dashboard&scenario=failing").await;
    let id = c.next().await["id"].as_str().unwrap().to_owned();
    let frames = c.chat("an exception please").await;
    let n = frames.len();
    assert_eq!(
        frames[n - 2],
        json!({"type": "message", "content": "An error occurred: disk full", "is_stream_chunk": false, "metadata": {}})
    );
    assert_eq!(
        answer_text(&frames),
        "Half an ",
        "chunks already sent stay sent"
    );
    let history = server.app.sessions.history(&id);
    assert_eq!(history.len(), 1, "only the user message: {history:?}");
    assert_eq!(history[0].role, "user");
}

#[tokio::test]
async fn the_docs_dialect_keeps_its_error_frame_and_chaos_keeps_type_error() {
    let dir = library(&[("failing.json", FAILING)]);
    std::fs::copy(
        common::fixtures().join("weather.json"),
        dir.path().join("weather.json"),
    )
    .unwrap();
    let server = Server::instant(dir.path()).await;
    let mut docs = server.connect("dialect=docs&scenario=failing").await;
    let frames = docs.ask("an exception please").await;
    let error = frames
        .iter()
        .find(|f| f["type"] == "error")
        .expect("an error frame");
    assert_eq!(error["message"], "disk full");

    // An injected fault is a protocol-level failure on purpose: it stays `type:"error"`.
    let mut chaos = server
        .connect("dialect=dashboard&scenario=weather&fault=error:message=boom:events=text_chunk:at_step=1")
        .await;
    chaos.next().await;
    chaos
        .send(json!({"action": "chat", "message": "weather"}))
        .await;
    let mut seen = Vec::new();
    loop {
        let f = chaos.next().await;
        seen.push(f["type"].as_str().unwrap_or("?").to_owned());
        if f["type"] == "error" {
            assert_eq!(f, json!({"type": "error", "content": "boom"}));
            break;
        }
    }
    assert!(seen.contains(&"stream_start".to_owned()), "{seen:?}");
}

#[tokio::test]
async fn every_turn_opens_with_the_empty_thinking_event_and_its_system_events_reach_every_tab() {
    let server = Server::fixtures().await;
    let mut chatting = server.connect("dialect=dashboard").await;
    let id = chatting.next().await["id"].as_str().unwrap().to_owned();
    let mut other = server.connect("dialect=dashboard").await;
    other.next().await;
    let mut docs = server.connect("dialect=docs").await;

    let frames = chatting.chat("What's the weather in Paris?").await;
    let key = id.replacen('_', ":", 1);
    let opening =
        json!({"type": "system_event", "event_type": "thinking", "data": {"session_key": key}});
    assert_eq!(types(&frames)[..2], ["stream_start", "system_event"]);
    assert_eq!(frames[1], opening);

    // The other tab gets every system_event, in order, and nothing else of the turn
    // (chunks and stream_end go to the bound connection only).
    let shared: Vec<Value> = frames
        .iter()
        .filter(|f| f["type"] == "system_event")
        .cloned()
        .collect();
    assert_eq!(
        shared.len(),
        4,
        "opening, thinking, tool_start, tool_result"
    );
    for want in &shared {
        assert_eq!(&other.next().await, want);
    }
    assert!(
        other.silent_for(Duration::from_millis(300)).await,
        "no chunks, no stream_end"
    );
    assert!(
        docs.silent_for(Duration::from_millis(100)).await,
        "docs connections get no pushes"
    );
}

#[tokio::test]
async fn the_bundled_error_mid_stream_ends_its_answer_as_the_real_backend_does() {
    let server = Server::instant(&common::bundled()).await;
    let mut c = server
        .connect("dialect=dashboard&scenario=error-mid-stream")
        .await;
    c.next().await;
    let frames = c.chat("How do database indexes speed up queries?").await;
    assert!(!types(&frames).contains(&"error".to_owned()));
    let failed = frames
        .iter()
        .position(|f| f["event_type"] == "tool_result" && f["data"]["name"] == "agent")
        .expect("the failed agent tool_result");
    assert!(
        frames[..failed]
            .iter()
            .any(|f| f["is_stream_chunk"] == true),
        "part of an answer first"
    );
    assert!(
        answer_text(&frames).ends_with(
            "❌ Claude SDK error: 529 Overloaded (the API is busy; try again in a moment)"
        )
    );
}

/// A connection's pushes stay within its `?run=` label: stories and tests that label
/// their runs see each other's turns no more than two users of two backends would.
#[tokio::test]
async fn system_events_reach_only_the_tabs_of_the_same_run() {
    let server = Server::fixtures().await;
    let mut chatting = server.connect("dialect=dashboard&run=story-a").await;
    chatting.next().await;
    let mut same_run = server.connect("dialect=dashboard&run=story-a").await;
    same_run.next().await;
    let mut other_run = server.connect("dialect=dashboard&run=story-b").await;
    other_run.next().await;
    let mut unlabelled = server.connect("dialect=dashboard").await;
    unlabelled.next().await;

    let frames = chatting.chat("What's the weather in Paris?").await;
    let first_shared = frames
        .iter()
        .find(|f| f["type"] == "system_event")
        .unwrap()
        .clone();
    assert_eq!(same_run.next().await, first_shared);
    assert!(
        other_run.silent_for(Duration::from_millis(300)).await,
        "another run's tab gets nothing of this turn"
    );
    assert!(
        unlabelled.silent_for(Duration::from_millis(100)).await,
        "an unlabelled tab gets nothing of a labelled run's turn"
    );
}
