//! Bad client input gets an `error` frame saying what was wrong; the connection stays
//! open and keeps working, and other connections never notice.

mod common;

use common::{Server, answer_text};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

async fn expect_error(c: &mut common::Client, contains: &str) {
    let f = c.next().await;
    assert_eq!(f["type"], "error", "{f}");
    let text = f["message"].as_str().or(f["content"].as_str()).unwrap();
    assert!(
        text.contains(contains),
        "error `{text}` should mention `{contains}`"
    );
}

#[tokio::test]
async fn every_kind_of_bad_frame_is_answered_with_an_error_and_the_connection_keeps_working() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=docs").await;
    let cases: [(&str, &str); 7] = [
        ("this is not json", "not valid JSON"),
        ("[1, 2, 3]", "must be a JSON object"),
        (r#"{"content": "hi"}"#, "no `action` field"),
        (r#"{"action": 42}"#, "`action` must be a string"),
        (r#"{"action": "dance"}"#, "unknown action `dance`"),
        (
            r#"{"action": "message", "content": 5}"#,
            "field `content` of action `message` must be a string, got a number",
        ),
        (
            r#"{"action": "switch_session"}"#,
            "needs a string field `session_id`",
        ),
    ];
    for (frame, expected) in cases {
        c.send_text(frame).await;
        expect_error(&mut c, expected).await;
    }
    c.ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    expect_error(&mut c, "binary frames").await;
    let frames = c.ask("weather").await;
    assert_eq!(answer_text(&frames), "It's **18°C** and cloudy in Paris.");
}

#[tokio::test]
async fn errors_follow_the_dashboard_shape_on_dashboard_connections() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=dashboard").await;
    c.next().await;
    c.send_text("{oops").await;
    let f = c.next().await;
    assert_eq!(f["type"], "error");
    assert!(f["content"].as_str().unwrap().contains("not valid JSON"));
    assert!(f.get("message").is_none());
}

#[tokio::test]
async fn bad_url_parameters_are_reported_and_ignored() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=docs&speed=fast&colour=red").await;
    expect_error(&mut c, "?speed=fast").await;
    expect_error(&mut c, "unknown URL parameter `colour`").await;
    let frames = c.ask("weather").await;
    assert_eq!(answer_text(&frames), "It's **18°C** and cloudy in Paris.");
}

#[tokio::test]
async fn an_unknown_pinned_scenario_is_named_in_an_error_and_the_connection_stays() {
    let server = Server::fixtures().await;
    let mut c = server.connect("dialect=docs&scenario=nope").await;
    expect_error(&mut c, "scenario `nope` does not exist").await;
    c.send(json!({"action": "message", "content": "hi"})).await;
    expect_error(&mut c, "known scenarios: everything, plan, slow, weather").await;
    assert_eq!(c.next().await["type"], "stream_end");
}

#[tokio::test]
async fn a_frame_over_the_size_limit_closes_with_1009_and_others_carry_on() {
    let config = pawmock::ServeConfig {
        speed: pawmock::Speed::INSTANT,
        max_frame_size: 1024,
        ..Default::default()
    };
    let server = Server::start(&common::fixtures(), config).await;
    let mut other = server.connect("dialect=docs").await;
    let mut c = server.connect("dialect=docs").await;
    let big = json!({"action": "message", "content": "x".repeat(4096)});
    c.ws.send(Message::text(big.to_string())).await.unwrap();
    let code = loop {
        match tokio::time::timeout(common::PATIENCE, c.ws.next())
            .await
            .expect("close in time")
        {
            Some(Ok(Message::Close(Some(frame)))) => break u16::from(frame.code),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(code, 1009);
    let frames = other.ask("weather").await;
    assert_eq!(answer_text(&frames), "It's **18°C** and cloudy in Paris.");
}

#[tokio::test]
async fn a_plain_http_request_to_ws_is_told_to_upgrade() {
    let server = Server::fixtures().await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 426"), "{response}");
    assert!(response.contains("WebSocket client"));
}

#[tokio::test]
async fn a_requested_subprotocol_is_echoed() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let server = Server::fixtures().await;
    let mut request = server.url("").into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "pp_token123, chat".parse().unwrap(),
    );
    let (_ws, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("handshake accepted");
    assert_eq!(response.headers()["sec-websocket-protocol"], "pp_token123");
}
