//! The `docs` dialect: every message and action of PocketPaw's published protocol page,
//! asserted field by field over a real socket.

mod common;

use common::{Server, answer_text, types};
use serde_json::json;

#[tokio::test]
async fn a_message_streams_thinking_tool_events_chunks_and_stream_end_with_the_session_id() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=docs").await;
    c.send(json!({"action": "message", "content": "What's the weather in Paris?", "session_id": "session_abc123"})).await;
    let frames = c.until_stream_end().await;

    assert_eq!(
        frames[0],
        json!({"type": "thinking", "content": "The user wants the weather in Paris.", "session_id": "session_abc123"})
    );
    assert_eq!(
        frames[1],
        json!({"type": "tool_start", "tool": "web_search", "input": {"query": "Paris weather"}, "session_id": "session_abc123"})
    );
    assert_eq!(
        frames[2],
        json!({"type": "tool_result", "tool": "web_search", "result": "Paris: 18°C, cloudy", "session_id": "session_abc123"})
    );
    let chunks = &frames[3..frames.len() - 1];
    assert!(chunks.len() > 3, "the answer is streamed in several chunks");
    for chunk in chunks {
        let obj = chunk.as_object().unwrap();
        assert_eq!(obj.len(), 3, "{chunk}");
        assert_eq!(chunk["type"], "response_chunk");
        assert!(chunk["content"].is_string());
        assert_eq!(chunk["session_id"], "session_abc123");
    }
    assert_eq!(answer_text(&frames), "It's **18°C** and cloudy in Paris.");
    assert_eq!(
        frames.last().unwrap(),
        &json!({"type": "stream_end", "session_id": "session_abc123"})
    );
}

#[tokio::test]
async fn a_message_without_session_id_belongs_to_the_connections_session() {
    let server = Server::fixtures().await;
    let mut c = server
        .connect("dialect=docs&resume_session=session_mine")
        .await;
    let history = c.next().await;
    assert_eq!(history["type"], "session_switched");
    let frames = c.ask("hello there").await;
    for f in &frames {
        assert_eq!(f["session_id"], "session_mine", "{f}");
    }
    // What was chatted is kept: switching back shows it.
    c.send(json!({"action": "switch_session", "session_id": "session_mine"}))
        .await;
    let switched = c.next().await;
    assert_eq!(
        switched["messages"][0],
        json!({"role": "user", "content": "hello there"})
    );
    assert_eq!(switched["messages"][1]["role"], "assistant");
    // Nothing matched "hello there": the built-in reply says how to pick a scenario.
    let answer = switched["messages"][1]["content"].as_str().unwrap();
    assert!(
        answer.contains("?scenario=NAME") && answer.contains("weather"),
        "{answer}"
    );
}

#[tokio::test]
async fn error_and_inbox_update_have_the_documented_fields() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=docs&scenario=everything").await;
    c.send(json!({"action": "message", "content": "fail now", "session_id": "s1"}))
        .await;
    let frames = c.until_stream_end().await;
    assert_eq!(
        types(&frames),
        [
            "response_chunk",
            "response_chunk",
            "response_chunk",
            "error",
            "stream_end"
        ]
    );
    assert_eq!(
        frames[3],
        json!({"type": "error", "message": "Failed to execute tool", "session_id": "s1"})
    );

    let frames = c.ask("inbox please").await;
    assert_eq!(
        frames[0],
        json!({"type": "inbox_update", "channel": "telegram", "message": "New message from Telegram user", "session_id": "telegram_123"})
    );
}

#[tokio::test]
async fn plan_created_waits_for_plan_response() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=docs&scenario=plan").await;
    c.send(json!({"action": "message", "content": "refactor app.py", "session_id": "s9"}))
        .await;
    let mut frames = Vec::new();
    loop {
        let f = c.next().await;
        let done = f["type"] == "plan_created";
        frames.push(f);
        if done {
            break;
        }
    }
    assert_eq!(
        frames.last().unwrap(),
        &json!({"type": "plan_created", "plan": "## Plan\n1. Read the file\n2. Modify the function\n3. Run tests", "session_id": "s9"})
    );
    assert!(
        c.silent_for(std::time::Duration::from_millis(300)).await,
        "the plan waits for an answer"
    );
    c.send(json!({"action": "plan_response", "response": "approve"}))
        .await;
    let rest = c.until_stream_end().await;
    assert_eq!(rest[0]["type"], "tool_start");
    assert_eq!(answer_text(&rest), "Done: tests pass.");
}

#[tokio::test]
async fn switch_session_answers_session_switched_with_the_history() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=docs").await;
    c.send(json!({"action": "switch_session", "session_id": "websocket_weather"}))
        .await;
    assert_eq!(
        c.next().await,
        json!({"type": "session_switched", "session_id": "websocket_weather", "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "Hello! Ask me about the weather."}
        ]})
    );
    c.send(json!({"action": "switch_session", "session_id": "session_def456"}))
        .await;
    assert_eq!(
        c.next().await,
        json!({"type": "session_switched", "session_id": "session_def456", "messages": []})
    );
}

#[tokio::test]
async fn new_session_answers_session_switched_to_a_fresh_empty_session() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=docs").await;
    c.send(json!({"action": "new_session"})).await;
    let f = c.next().await;
    assert_eq!(f["type"], "session_switched");
    assert_eq!(f["messages"], json!([]));
    let id = f["session_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("websocket_"), "{id}");
    // The next message goes to the new session.
    let frames = c.ask("anything").await;
    assert_eq!(frames.last().unwrap()["session_id"], id.as_str());
}

#[tokio::test]
async fn resume_session_sends_that_sessions_history_first() {
    let server = Server::fixtures().await;
    let mut c = server.connect("resume_session=websocket_weather").await;
    let f = c.next().await;
    assert_eq!(f["type"], "session_switched");
    assert_eq!(f["session_id"], "websocket_weather");
    assert_eq!(f["messages"].as_array().unwrap().len(), 2);
    // Unknown ids get an empty history, never an error.
    let mut c = server.connect("resume_session=session_nobody").await;
    assert_eq!(
        c.next().await,
        json!({"type": "session_switched", "session_id": "session_nobody", "messages": []})
    );
}

#[tokio::test]
async fn plan_response_reject_plays_the_reject_branch() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=docs&scenario=plan").await;
    c.send(json!({"action": "message", "content": "refactor app.py"}))
        .await;
    while c.next().await["type"] != "plan_created" {}
    c.send(json!({"action": "plan_response", "response": "reject"}))
        .await;
    let rest = c.until_stream_end().await;
    assert_eq!(answer_text(&rest), "Understood, I changed nothing.");
    assert!(
        rest.iter().all(|f| f["type"] != "tool_start"),
        "the approve branch did not play"
    );
}
