//! WebSocket edge cases of the real backend (addendum C.4, C.5, C.7): resuming an
//! unknown session, an intention's run frames, and the session export.

mod common;

use common::Server;
use common::http::get;
use serde_json::{Value, json};

#[tokio::test]
async fn resuming_an_unknown_or_malformed_session_binds_a_fresh_id_without_history() {
    let server = Server::fixtures().await;
    for stale in ["websocket_0000-gone", "telegram_42", "nonsense"] {
        let mut c = server
            .connect(&format!("dialect=dashboard&resume_session={stale}"))
            .await;
        let info = c.next().await;
        assert_eq!(info["type"], "connection_info");
        let id = info["id"].as_str().unwrap();
        assert_ne!(id, stale);
        assert!(
            id.starts_with("websocket_") && id.len() == "websocket_".len() + 36,
            "{id}"
        );
        // No session_history: the next frame answers the next action.
        c.send(json!({"action": "stop"})).await;
        assert_eq!(c.next().await, json!({"type": "stream_end"}), "{stale}");
    }
    // A known session still resumes (tests/dashboard_sessions.rs has the full story).
    let mut c = server
        .connect("dialect=dashboard&resume_session=websocket_weather")
        .await;
    assert_eq!(c.next().await["id"], "websocket_weather");
    assert_eq!(c.next().await["type"], "session_history");
}

#[tokio::test]
async fn an_intention_run_is_announced_to_every_dashboard_tab() {
    let server = Server::fixtures().await;
    let mut runner = server.connect("dialect=dashboard").await;
    runner.next().await;
    let mut watcher = server.connect("dialect=dashboard").await;
    watcher.next().await;
    runner
        .send(json!({"action": "run_intention", "id": "morning-brief"}))
        .await;
    assert_eq!(
        runner.next().await,
        json!({"type": "notification", "content": "🚀 Running intention: Morning briefing"})
    );
    for tab in [&mut runner, &mut watcher] {
        let started = tab.next().await;
        assert_eq!(started["type"], "intention_started");
        assert_eq!(started["intention_id"], "morning-brief");
        assert_eq!(started["intention_name"], "Morning briefing");
        let done = tab.next().await;
        assert_eq!(done["type"], "intention_completed");
    }
    runner
        .send(json!({"action": "run_intention", "id": "nope"}))
        .await;
    assert_eq!(
        runner.next().await,
        json!({"type": "error", "content": "Intention not found"})
    );
}

fn ts_ok(v: &Value) -> bool {
    let re = regex::Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$").unwrap();
    v.as_str().is_some_and(|s| re.is_match(s))
}

#[tokio::test]
async fn a_session_exports_in_the_real_backends_layout_and_file_name() {
    let server = Server::fixtures().await;
    let id = "websocket_1e0c4a2b-5d6e-4f70-8a9b-0c1d2e3f4a5b";
    server.app.sessions.append(id, "user", "hi");
    server.app.sessions.append(id, "assistant", "Hello!");
    let r = get(
        server.addr,
        &format!("/api/memory/session/export?id={id}&format=json"),
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"pocketpaw-session-websocket_1e0c4a2b-5.json\"")
    );
    assert!(
        r.text().starts_with("{\n  \"export_version\": \"1.0\",\n"),
        "indented by 2: {}",
        r.text()
    );
    let doc = r.json();
    assert_eq!(doc["export_version"], "1.0");
    assert!(ts_ok(&doc["exported_at"]));
    assert_eq!(doc["session_id"], id);
    assert_eq!(doc["message_count"], 2);
    let user = &doc["messages"][0];
    assert_eq!(user["metadata"], json!({"action": "chat", "message": "hi"}));
    assert!(ts_ok(&user["timestamp"]));
    assert!(uuid::Uuid::parse_str(user["id"].as_str().unwrap()).is_ok());
    assert_eq!(doc["messages"][1]["metadata"], json!({}));

    let md = get(
        server.addr,
        &format!("/api/memory/session/export?id={id}&format=md"),
        &[],
    )
    .await;
    assert_eq!(
        md.header("content-type"),
        Some("text/markdown; charset=utf-8")
    );
    assert_eq!(
        md.header("content-disposition"),
        Some("attachment; filename=\"pocketpaw-session-websocket_1e0c4a2b-5.md\"")
    );
    let text = md.text();
    let pattern = format!(
        r"^# Conversation Export\n\*\*Session\*\*: `{id}` \| \*\*Messages\*\*: 2 \| \*\*Exported\*\*: \d{{4}}-\d{{2}}-\d{{2}} \d{{2}}:\d{{2}}\n\n---\n\n\*\*User\*\* \(\d{{2}}:\d{{2}}\):\nhi\n\n---\n\n\*\*Assistant\*\* \(\d{{2}}:\d{{2}}\):\nHello!\n\n---$"
    );
    assert!(
        regex::Regex::new(&pattern).unwrap().is_match(&text),
        "{text:?}"
    );

    for (query, status, detail) in [
        (
            "format=json",
            400,
            "Missing required parameter: id".to_owned(),
        ),
        (
            &format!("id={id}&format=pdf") as &str,
            400,
            "Format must be 'json' or 'md'".to_owned(),
        ),
        (
            "id=websocket_nobody&format=json",
            404,
            "Session not found: websocket_nobody".to_owned(),
        ),
    ] {
        let r = get(
            server.addr,
            &format!("/api/memory/session/export?{query}"),
            &[],
        )
        .await;
        assert_eq!(
            (r.status, r.json()),
            (status, json!({"detail": detail})),
            "{query}"
        );
    }
}
