//! Recordings (`*.jsonl`) replay their exchanges in order, in either dialect.

mod common;

use common::{Server, answer_text, types};
use serde_json::json;

#[tokio::test]
async fn a_dashboard_recording_replays_in_the_dashboard_dialect_as_recorded() {
    let server = Server::fixtures().await;
    let mut c = server
        .connect("dialect=dashboard&scenario=weather-recorded")
        .await;
    c.next().await;
    let frames = c.chat("anything").await;
    assert_eq!(
        types(&frames),
        [
            "stream_start",
            "system_event",
            "system_event",
            "message",
            "message",
            "token_usage_extra",
            "stream_end"
        ]
    );
    assert_eq!(
        frames[1],
        json!({"type": "system_event", "event_type": "tool_start", "data": {"name": "web_search", "params": {"query": "Paris forecast"}}})
    );
    assert_eq!(
        frames[5],
        json!({"type": "token_usage_extra", "n": 1}),
        "unknown frames pass through unchanged"
    );
}

#[tokio::test]
async fn a_dashboard_recording_replays_in_the_docs_dialect() {
    let server = Server::fixtures().await;
    let mut c = server
        .connect("dialect=docs&scenario=weather-recorded")
        .await;
    c.send(json!({"action": "message", "content": "x", "session_id": "s1"}))
        .await;
    let frames = c.until_stream_end().await;
    assert_eq!(
        types(&frames),
        [
            "tool_start",
            "tool_result",
            "response_chunk",
            "response_chunk",
            "token_usage_extra",
            "stream_end"
        ]
    );
    assert_eq!(
        frames[0],
        json!({"type": "tool_start", "tool": "web_search", "input": {"query": "Paris forecast"}, "session_id": "s1"})
    );
    assert_eq!(
        frames[1],
        json!({"type": "tool_result", "tool": "web_search", "result": "Sunny, 21°C", "session_id": "s1"})
    );
    assert_eq!(answer_text(&frames), "Sunny and 21°C.");
}

#[tokio::test]
async fn each_message_plays_the_next_recorded_exchange_and_then_starts_over() {
    let server = Server::fixtures().await;
    let mut c = server
        .connect("dialect=docs&scenario=weather-recorded")
        .await;
    assert_eq!(answer_text(&c.ask("one").await), "Sunny and 21°C.");
    assert_eq!(answer_text(&c.ask("two").await), "Rain tomorrow.");
    assert_eq!(answer_text(&c.ask("three").await), "Sunny and 21°C.");
}

#[tokio::test]
async fn an_unpinned_message_selects_a_recording_by_its_header_rule() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=docs").await;
    assert_eq!(
        answer_text(&c.ask("What is the forecast?").await),
        "Sunny and 21°C."
    );
}
