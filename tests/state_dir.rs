//! `--state DIR`: sessions survive a restart, in the real backend's on-disk layout,
//! and a SIGKILL in the middle of writing leaves a state that loads.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use common::http::{get_json, request};
use common::{Client, LoggedServer};
use serde_json::{Value, json};

fn addr_of(server: &LoggedServer) -> SocketAddr {
    let port: u16 = server
        .url
        .trim_start_matches("ws://localhost:")
        .trim_end_matches("/ws")
        .parse()
        .expect("a port in the URL");
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn start(state: &Path) -> LoggedServer {
    LoggedServer::start(&[
        "--state",
        state.to_str().unwrap(),
        "--speed",
        "0",
        "--dialect",
        "dashboard",
        "--no-watch",
    ])
}

/// Polls until `check` holds (or fails after the harness's patience).
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < common::PATIENCE, "never: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

async fn chat(url: &str, text: &str) -> String {
    let mut c = Client::connect(&format!("{url}?scenario=weather")).await;
    let id = c.next().await["id"].as_str().unwrap().to_owned();
    c.chat(text).await;
    id
}

#[tokio::test]
async fn sessions_are_written_in_the_real_layout_and_survive_a_sigkill_mid_write() {
    let state = tempfile::tempdir().unwrap();
    let first = start(state.path());
    let addr = addr_of(&first);
    let kept = chat(&first.url, "What's the weather in Paris?").await;
    let renamed = chat(&first.url, "and in Rome?").await;
    let r = request(
        addr,
        "POST",
        &format!("/api/sessions/{renamed}/title"),
        &[],
        br#"{"title": "Rome trip"}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    let deleted = chat(&first.url, "and in Oslo?").await;

    let file = state.path().join(format!("{kept}.json"));
    eventually("the session file holds the turn", || {
        read_json(&file).is_some_and(|v| v.as_array().is_some_and(|a| a.len() == 2))
    })
    .await;
    let r = request(
        addr,
        "DELETE",
        &format!("/api/sessions/{deleted}"),
        &[],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    let gone = state.path().join(format!("{deleted}.json"));
    eventually("a deleted session's file is removed", || !gone.exists()).await;
    let index = state.path().join("_index.json");
    eventually("the index has the rename", || {
        read_json(&index).is_some_and(|v| v[&renamed]["user_title"] == "Rome trip")
    })
    .await;

    // The layout (addendum D): an array of {id, role, content, timestamp, metadata}.
    let messages = read_json(&file).unwrap();
    let user = &messages[0];
    assert_eq!(user["role"], "user");
    assert_eq!(
        user["metadata"],
        json!({"action": "chat", "message": "What's the weather in Paris?"})
    );
    assert!(uuid::Uuid::parse_str(user["id"].as_str().unwrap()).is_ok());
    let ts = user["timestamp"].as_str().unwrap();
    assert!(
        regex::Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$")
            .unwrap()
            .is_match(ts),
        "naive: {ts}"
    );
    assert_eq!(messages[1]["content"], "It's **18°C** and cloudy in Paris.");
    assert_eq!(messages[1]["metadata"], json!({}));
    let entry = &read_json(&index).unwrap()[&kept];
    assert_eq!(entry["title"], "What's the weather in Paris?");
    assert_eq!(entry["channel"], "websocket");
    assert_eq!(entry["message_count"], 2);
    assert_eq!(entry["preview"], "It's **18°C** and cloudy in Paris.");

    // Keep the writer busy, then kill the server without warning.
    let url = first.url.clone();
    let hammer = tokio::spawn(async move {
        let mut c = Client::connect(&format!("{url}?scenario=weather")).await;
        c.next().await;
        loop {
            c.send(json!({"action": "chat", "message": "weather again"}))
                .await;
            // The socket dies with the server; that ends the loop.
            loop {
                match c.raw_within(common::PATIENCE).await {
                    None => return,
                    Some(tokio_tungstenite::tungstenite::Message::Text(t))
                        if t.contains("stream_end") =>
                    {
                        break;
                    }
                    Some(_) => {}
                }
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut first = first;
    first.child.0.kill().expect("SIGKILL");
    let _ = first.child.0.wait();
    hammer.abort();

    // Every session file and the index are whole JSON (a .tmp may be left; it is skipped).
    for entry in std::fs::read_dir(state.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            assert!(
                read_json(&path).is_some(),
                "{} is not whole JSON",
                path.display()
            );
        }
    }

    // What the real backend leaves beside its sessions is not a session.
    std::fs::write(
        state.path().join("websocket_half.json.tmp"),
        "[{\"role\": \"us",
    )
    .unwrap();
    std::fs::write(state.path().join("_aliases.json"), "{}").unwrap();
    std::fs::write(
        state.path().join(format!("{kept}_compaction.json")),
        r#"{"watermark": 1, "summary": "", "older_count": 0}"#,
    )
    .unwrap();
    let sessions_on_disk = std::fs::read_dir(state.path())
        .unwrap()
        .filter(|e| {
            let n = e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .into_owned();
            n.starts_with("websocket_") && n.ends_with(".json") && !n.contains("_compaction")
        })
        .count();
    assert_eq!(
        sessions_on_disk, 3,
        "kept, renamed and the hammering one were written"
    );

    let second = start(state.path());
    let addr = addr_of(&second);
    let list = get_json(addr, "/api/sessions?limit=100", 200).await;
    let find = |id: &str| {
        list["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .cloned()
    };
    assert_eq!(find(&kept).expect("kept")["message_count"], 2);
    assert_eq!(find(&renamed).expect("renamed")["title"], "Rome trip");
    assert!(find(&deleted).is_none(), "deleted stays deleted");
    assert!(list["sessions"].as_array().unwrap().iter().all(|s| {
        let id = s["id"].as_str().unwrap();
        !id.contains("half") && !id.contains("compaction") && !id.starts_with('_')
    }));
    // And the history is there to resume.
    let mut c = Client::connect(&format!("{}?resume_session={kept}", second.url)).await;
    assert_eq!(c.next().await["id"], kept.as_str());
    let history = c.next().await;
    assert_eq!(
        history["messages"][1]["content"],
        "It's **18°C** and cloudy in Paris."
    );
}
