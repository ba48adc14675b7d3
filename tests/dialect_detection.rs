//! `auto` dialect: decided by the first dialect-specific action, `docs` until then.

mod common;

use common::{Server, types};
use serde_json::json;

#[tokio::test]
async fn a_chat_action_switches_an_auto_connection_to_the_dashboard_dialect() {
    let server = Server::fixtures().await;
    let mut c = server.connect("").await;
    // Undecided: a session switch is answered in the docs shape.
    c.send(json!({"action": "switch_session", "session_id": "websocket_weather"}))
        .await;
    assert_eq!(c.next().await["type"], "session_switched");
    let frames = c.chat("weather?").await;
    assert_eq!(types(&frames)[0], "stream_start");
    assert!(types(&frames).contains(&"system_event".to_owned()));
    // Decided for good: later replies stay in the dashboard shape.
    c.send(json!({"action": "switch_session", "session_id": "websocket_weather"}))
        .await;
    assert_eq!(c.next().await["type"], "session_history");
}

#[tokio::test]
async fn a_message_action_keeps_an_auto_connection_in_the_docs_dialect() {
    let server = Server::fixtures().await;
    let mut c = server.connect("").await;
    let frames = c.ask("weather?").await;
    assert_eq!(types(&frames)[0], "thinking");
    assert!(types(&frames).contains(&"response_chunk".to_owned()));
}

#[tokio::test]
async fn the_url_dialect_wins_over_the_clients_actions() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=docs").await;
    let frames = c.chat("weather?").await;
    assert_eq!(types(&frames)[0], "thinking", "docs has no stream_start");
}

#[tokio::test]
async fn the_server_default_dialect_applies_without_a_url_choice() {
    let config = pawmock::ServeConfig {
        speed: pawmock::Speed::INSTANT,
        dialect: pawmock::DialectChoice::Dashboard,
        ..Default::default()
    };
    let server = Server::start(&common::fixtures(), config).await;
    let mut c = server.connect("").await;
    assert_eq!(c.next().await["type"], "connection_info");
}
