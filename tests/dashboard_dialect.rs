//! The `dashboard` dialect: what the shipped PocketPaw dashboard really speaks.

mod common;

use common::{Server, answer_text, types};
use serde_json::json;

#[tokio::test]
async fn a_chat_turn_with_a_tool_plays_the_dashboard_sequence() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=dashboard").await;
    let info = c.next().await;
    assert_eq!(info["type"], "connection_info");
    assert_eq!(info["content"], "Connected to PocketPaw");
    let conn_id = info["id"].as_str().unwrap().to_owned();
    assert!(conn_id.starts_with("websocket_"), "{conn_id}");

    let frames = c.chat("What's the weather in Paris?").await;
    assert_eq!(frames[0], json!({"type": "stream_start"}));
    let key = conn_id.replacen('_', ":", 1);
    // The real backend opens every turn with an empty thinking event (addendum C.2).
    assert_eq!(
        frames[1],
        json!({"type": "system_event", "event_type": "thinking", "data": {"session_key": key}})
    );
    let frames = &frames[1..];
    assert_eq!(
        frames[1],
        json!({"type": "system_event", "event_type": "thinking", "data": {"content": "The user wants the weather in Paris.", "session_key": key}})
    );
    assert_eq!(
        frames[2],
        json!({"type": "system_event", "event_type": "tool_start", "data": {"name": "web_search", "params": {"query": "Paris weather"}}})
    );
    assert_eq!(
        frames[3],
        json!({"type": "system_event", "event_type": "tool_result", "data": {"name": "web_search", "result": "Paris: 18°C, cloudy", "status": "success"}})
    );
    for chunk in &frames[4..frames.len() - 1] {
        assert_eq!(chunk["type"], "message");
        assert_eq!(chunk["is_stream_chunk"], true);
        assert_eq!(chunk["metadata"], json!({}));
    }
    assert_eq!(answer_text(frames), "It's **18°C** and cloudy in Paris.");
    assert_eq!(frames.last().unwrap(), &json!({"type": "stream_end"}));
}

#[tokio::test]
async fn a_failed_tool_reports_status_error() {
    let server = Server::fixtures().await;
    let mut c = server
        .connect("dialect=dashboard&scenario=everything")
        .await;
    c.next().await; // connection_info
    let frames = c.chat("the broken tool again").await;
    assert_eq!(
        frames[3],
        json!({"type": "system_event", "event_type": "tool_result", "data": {"name": "read_file", "result": "File not found: /nope", "status": "error"}})
    );
}

#[tokio::test]
async fn sessions_use_session_history_and_new_session() {
    let server = Server::fixtures().await;
    let mut c = server
        .connect("dialect=dashboard&resume_session=websocket_weather")
        .await;
    let info = c.next().await;
    assert_eq!(info["id"], "websocket_weather");
    let history = c.next().await;
    assert_eq!(history["type"], "session_history");
    assert_eq!(history["session_id"], "websocket_weather");
    assert_eq!(
        history["messages"][1]["content"],
        "Hello! Ask me about the weather."
    );

    c.send(json!({"action": "new_session"})).await;
    let fresh = c.next().await;
    assert_eq!(fresh["type"], "new_session");
    assert!(fresh["id"].as_str().unwrap().starts_with("websocket_"));
    assert_eq!(fresh.as_object().unwrap().len(), 2);

    c.send(json!({"action": "switch_session", "session_id": "websocket_weather"}))
        .await;
    let again = c.next().await;
    assert_eq!(again["type"], "session_history");
    assert_eq!(again["messages"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn errors_carry_content_and_plans_without_a_pending_plan_are_refused_like_the_real_backend() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=dashboard").await;
    c.next().await;
    c.send(json!({"action": "approve_plan", "session_key": "websocket:x"}))
        .await;
    assert_eq!(
        c.next().await,
        json!({"type": "error", "content": "No active plan to approve"})
    );
    c.send(json!({"action": "reject_plan", "session_key": "websocket:x"}))
        .await;
    assert_eq!(
        c.next().await,
        json!({"type": "error", "content": "No active plan to reject"})
    );
}

#[tokio::test]
async fn a_plan_never_waits_in_the_dashboard_dialect_it_plays_its_dashboard_branch() {
    // The shipped dashboard has no plan UI (addendum C.9): waiting would leave it
    // "streaming" until Stop. A plan plays `approve` unless `dashboard_plan` says.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("choosy.json"),
        r#"{"turns": [{"reply": [{"plan": "1. x", "dashboard_plan": "reject",
            "approve": [{"say": "did it"}], "reject": [{"say": "left it"}]}]}]}"#,
    )
    .unwrap();
    std::fs::copy(
        common::fixtures().join("plan.json"),
        dir.path().join("plan.json"),
    )
    .unwrap();
    let server = Server::instant(dir.path()).await;
    for (scenario, expected) in [
        ("plan", "Here is my plan.Done: tests pass."),
        ("choosy", "left it"),
    ] {
        let mut c = server
            .connect(&format!("dialect=dashboard&scenario={scenario}"))
            .await;
        c.next().await;
        let frames = c.chat("refactor it").await;
        assert_eq!(answer_text(&frames), expected, "{scenario}");
        assert!(types(&frames).contains(&"plan_proposed".to_owned()));
        c.send(json!({"action": "approve_plan", "session_key": "x"}))
            .await;
        assert_eq!(
            c.next().await,
            json!({"type": "error", "content": "No active plan to approve"}),
            "the plan is over"
        );
    }
}

#[tokio::test]
async fn legacy_actions_and_authenticate_do_not_produce_errors() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=dashboard").await;
    c.next().await;
    c.send(json!({"action": "authenticate", "token": "x"}))
        .await;
    // The next frame must be the chat's, not an error about `authenticate`.
    let frames = c.chat("hello").await;
    assert_eq!(types(&frames)[0], "stream_start");
}
