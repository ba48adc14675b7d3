//! Sessions as the dashboard sees them: `websocket_<uuid>` ids, a chat in a new session
//! listed by `/api/sessions` after its `stream_end` and titled from the first message,
//! history through `switch_session` and `resume_session`, renames and deletes.

mod common;

use common::http::{get_json, request};
use common::{Client, Server, answer_text};
use regex::Regex;
use serde_json::{Value, json};

async fn sessions(server: &Server) -> Vec<Value> {
    get_json(server.addr, "/api/sessions?limit=100", 200).await["sessions"]
        .as_array()
        .unwrap()
        .clone()
}

fn find<'a>(list: &'a [Value], id: &str) -> Option<&'a Value> {
    list.iter().find(|s| s["id"] == id)
}

/// Connects like the dashboard and returns the client and its connection's id.
async fn connect(server: &Server, query: &str) -> (Client, String) {
    let mut c = server.connect(query).await;
    let info = c.next().await;
    assert_eq!(info["type"], "connection_info");
    (c, info["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_chat_in_a_new_session_is_listed_after_its_stream_end_titled_from_the_first_message() {
    let server = Server::fixtures().await;
    let (mut c, id) = connect(&server, "dialect=dashboard").await;
    let uuid = Regex::new(
        r"^websocket_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
    )
    .unwrap();
    assert!(uuid.is_match(&id), "{id} is websocket_<uuid4>");
    assert!(
        find(&sessions(&server).await, &id).is_none(),
        "no message yet, so no session yet"
    );

    let frames = c.chat("What's the weather in Paris?").await;
    assert_eq!(frames.last().unwrap(), &json!({"type": "stream_end"}));
    // What the dashboard does after every stream_end.
    let list = sessions(&server).await;
    assert_eq!(list[0]["id"], id, "newest first");
    let s = &list[0];
    assert_eq!(s["title"], "What's the weather in Paris?");
    assert_eq!(s["channel"], "websocket");
    assert_eq!(s["message_count"], 2);
    assert_eq!(s["preview"], answer_text(&frames));
    assert!(s.get("user_title").is_none());

    // A second message keeps the title from the first.
    c.chat("and tomorrow?").await;
    let s = sessions(&server).await[0].clone();
    assert_eq!(s["title"], "What's the weather in Paris?");
    assert_eq!(s["message_count"], 4);
}

#[tokio::test]
async fn new_session_then_chat_lists_the_new_one_first_and_switching_back_returns_the_history() {
    let server = Server::fixtures().await;
    let (mut c, first) = connect(&server, "dialect=dashboard").await;
    c.chat("What's the weather in Paris?").await;

    c.send(json!({"action": "new_session"})).await;
    let fresh = c.next().await;
    assert_eq!(fresh["type"], "new_session");
    let second = fresh["id"].as_str().unwrap().to_owned();
    assert!(second.starts_with("websocket_") && second != first);
    c.chat("weather in Rome?").await;

    let list = sessions(&server).await;
    assert_eq!(list[0]["id"], second);
    assert_eq!(list[0]["title"], "weather in Rome?");
    assert_eq!(list[1]["id"], first);

    c.send(json!({"action": "switch_session", "session_id": first}))
        .await;
    let history = c.next().await;
    assert_eq!(history["type"], "session_history");
    assert_eq!(history["session_id"], first);
    let messages = history["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(
        messages[0],
        json!({"role": "user", "content": "What's the weather in Paris?"})
    );
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(messages[1]["content"], "It's **18°C** and cloudy in Paris.");
}

#[tokio::test]
async fn resume_session_on_connect_returns_the_history_under_the_same_id() {
    let server = Server::fixtures().await;
    let (mut c, id) = connect(&server, "dialect=dashboard").await;
    c.chat("What's the weather in Paris?").await;
    drop(c);

    let (mut again, resumed) =
        connect(&server, &format!("dialect=dashboard&resume_session={id}")).await;
    assert_eq!(resumed, id, "connection_info carries the resumed id");
    let history = again.next().await;
    assert_eq!(history["type"], "session_history");
    assert_eq!(history["session_id"], id);
    assert_eq!(history["messages"].as_array().unwrap().len(), 2);
    // Chatting goes on in the same session.
    again.chat("and tomorrow?").await;
    assert_eq!(
        find(&sessions(&server).await, &id).unwrap()["message_count"],
        4
    );
}

#[tokio::test]
async fn renaming_and_deleting_show_up_in_the_list() {
    let server = Server::fixtures().await;
    let (mut c, id) = connect(&server, "dialect=dashboard").await;
    c.chat("What's the weather in Paris?").await;

    let r = request(
        server.addr,
        "POST",
        &format!("/api/sessions/{id}/title"),
        &[],
        br#"{"title": "Paris trip"}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    let s = find(&sessions(&server).await, &id).unwrap().clone();
    assert_eq!(s["title"], "Paris trip");
    assert_eq!(s["user_title"], "Paris trip");
    // Another message does not undo the rename.
    c.chat("and tomorrow?").await;
    assert_eq!(
        find(&sessions(&server).await, &id).unwrap()["title"],
        "Paris trip"
    );

    let r = request(
        server.addr,
        "DELETE",
        &format!("/api/sessions/{id}"),
        &[],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(find(&sessions(&server).await, &id).is_none());
    c.send(json!({"action": "switch_session", "session_id": id}))
        .await;
    let history = c.next().await;
    assert_eq!(
        history["messages"],
        json!([]),
        "a deleted session has no history"
    );
}

#[tokio::test]
async fn scenario_histories_are_sessions_too() {
    let server = Server::fixtures().await;
    let list = sessions(&server).await;
    let s = find(&list, "websocket_weather").expect("the weather fixture's history");
    assert_eq!(s["title"], "Weather with one tool call");
    assert_eq!(s["message_count"], 2);
    assert_eq!(s["preview"], "Hello! Ask me about the weather.");
    assert!(
        s.get("user_title").is_none(),
        "a seeded title is not a rename"
    );

    let (mut c, _) = connect(&server, "dialect=dashboard").await;
    c.send(json!({"action": "switch_session", "session_id": "websocket_weather"}))
        .await;
    let history = c.next().await;
    assert_eq!(
        history["messages"][0],
        json!({"role": "user", "content": "hi"})
    );
}

#[tokio::test]
async fn the_export_of_a_chatted_session_has_its_messages() {
    let server = Server::fixtures().await;
    let (mut c, id) = connect(&server, "dialect=dashboard").await;
    c.chat("What's the weather in Paris?").await;
    let doc = get_json(
        server.addr,
        &format!("/api/memory/session/export?id={id}&format=json"),
        200,
    )
    .await;
    assert_eq!(doc["session_id"], id);
    assert_eq!(doc["message_count"], 2);
    assert_eq!(
        doc["messages"][0]["content"],
        "What's the weather in Paris?"
    );
}
