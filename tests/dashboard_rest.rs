//! The REST calls the PocketPaw dashboard makes (protocol reference §5): each one's
//! status and shape, the JSON 404 for the rest, and no 401/403 anywhere.

mod common;

use common::Server;
use common::http::{get, get_json, request};
use regex::Regex;
use serde_json::{Value, json};

/// `2026-11-25T20:19:03.123456+00:00`
fn is_iso(v: &Value) -> bool {
    let re = Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$").unwrap();
    v.as_str().is_some_and(|s| re.is_match(s))
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

#[tokio::test]
async fn channels_status_is_a_2xx_object_of_channels() {
    let server = Server::fixtures().await;
    let body = get_json(server.addr, "/api/channels/status", 200).await;
    for channel in [
        "discord",
        "slack",
        "whatsapp",
        "telegram",
        "signal",
        "matrix",
        "teams",
        "google_chat",
    ] {
        let c = &body[channel];
        for field in ["configured", "running", "autostart"] {
            assert!(c[field].is_boolean(), "{channel}.{field} in {body}");
        }
    }
    assert_eq!(body["whatsapp"]["mode"], "personal");
}

#[tokio::test]
async fn sessions_list_has_the_reference_fields_newest_first_with_limit_and_total() {
    let server = Server::fixtures().await;
    // The fixtures seed one session from a scenario's history; add two by chatting.
    server
        .app
        .sessions
        .append("websocket_a", "user", "first question");
    server
        .app
        .sessions
        .append("websocket_a", "assistant", "first answer");
    std::thread::sleep(std::time::Duration::from_millis(5));
    server
        .app
        .sessions
        .append("websocket_b", "user", "second question");

    let body = get_json(server.addr, "/api/sessions?limit=100", 200).await;
    assert_eq!(keys(&body), ["sessions", "total"]);
    assert_eq!(body["total"], 3);
    let sessions = body["sessions"].as_array().unwrap();
    let ids: Vec<&str> = sessions.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids[..2], ["websocket_b", "websocket_a"], "newest first");
    assert!(
        ids.contains(&"websocket_weather"),
        "scenario history is a session"
    );
    let a = &sessions[1];
    assert_eq!(
        keys(a),
        [
            "id",
            "title",
            "channel",
            "created",
            "last_activity",
            "message_count",
            "preview"
        ]
    );
    assert_eq!(a["title"], "first question");
    assert_eq!(a["channel"], "websocket");
    assert_eq!(a["message_count"], 2);
    assert_eq!(a["preview"], "first answer");
    assert!(is_iso(&a["created"]) && is_iso(&a["last_activity"]), "{a}");

    let limited = get_json(server.addr, "/api/sessions?limit=1", 200).await;
    assert_eq!(limited["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(limited["total"], 3, "total counts every session");
    let default = get_json(server.addr, "/api/sessions", 200).await;
    assert_eq!(default["sessions"].as_array().unwrap().len(), 3);
    let bad = get_json(server.addr, "/api/sessions?limit=lots", 422).await;
    assert!(bad["detail"].as_str().unwrap().contains("limit"));
}

#[tokio::test]
async fn a_long_last_message_is_previewed_on_one_shortened_line() {
    let server = Server::fixtures().await;
    let long = format!("line one\nline two {}", "x".repeat(200));
    server.app.sessions.append("websocket_long", "user", &long);
    let body = get_json(server.addr, "/api/sessions", 200).await;
    let preview = body["sessions"][0]["preview"].as_str().unwrap();
    assert!(preview.starts_with("line one line two xx"), "{preview}");
    assert_eq!(preview.chars().count(), 100);
    assert!(preview.ends_with('…'));
}

#[tokio::test]
async fn deleting_a_session_removes_it_and_a_second_delete_is_404() {
    let server = Server::fixtures().await;
    server.app.sessions.append("websocket_gone", "user", "bye");
    let r = request(
        server.addr,
        "DELETE",
        "/api/sessions/websocket_gone",
        &[],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"status": "ok"}));
    let list = get_json(server.addr, "/api/sessions", 200).await;
    assert!(!list.to_string().contains("websocket_gone"));
    let again = request(
        server.addr,
        "DELETE",
        "/api/sessions/websocket_gone",
        &[],
        b"",
    )
    .await;
    assert_eq!(again.status, 404);
    assert_eq!(again.json(), json!({"detail": "Session not found"}));
}

#[tokio::test]
async fn renaming_a_session_sets_title_and_user_title() {
    let server = Server::fixtures().await;
    server
        .app
        .sessions
        .append("websocket_r", "user", "original words");
    let r = request(
        server.addr,
        "POST",
        "/api/sessions/websocket_r/title",
        &[("Content-Type", "application/json")],
        br#"{"title": "  Trip planning  "}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"status": "ok"}));
    let list = get_json(server.addr, "/api/sessions", 200).await;
    let s = &list["sessions"][0];
    assert_eq!(s["id"], "websocket_r");
    assert_eq!(s["title"], "Trip planning");
    assert_eq!(s["user_title"], "Trip planning");

    for body in [&br#"{"title": ""}"#[..], b"{}", b"not json"] {
        let r = request(
            server.addr,
            "POST",
            "/api/sessions/websocket_r/title",
            &[],
            body,
        )
        .await;
        assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(body));
        assert!(r.json()["detail"].as_str().unwrap().contains("Title"));
    }
    let r = request(
        server.addr,
        "POST",
        "/api/sessions/websocket_nobody/title",
        &[],
        br#"{"title": "x"}"#,
    )
    .await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn backends_is_a_json_array_the_settings_templates_can_filter() {
    let server = Server::fixtures().await;
    let body = get_json(server.addr, "/api/backends", 200).await;
    let backends = body
        .as_array()
        .expect("an array: the dashboard calls .filter on it");
    assert!(!backends.is_empty());
    for b in backends {
        assert_eq!(
            keys(b),
            [
                "name",
                "displayName",
                "available",
                "capabilities",
                "builtinTools",
                "requiredKeys",
                "supportedProviders",
                "installHint",
                "beta"
            ]
        );
        assert!(b["available"].is_boolean() && b["beta"].is_boolean());
        assert!(b["capabilities"].is_array() && b["installHint"].is_object());
    }
}

#[tokio::test]
async fn identity_version_health_skills_memory_audit_mcp_and_remote_have_their_shapes() {
    let server = Server::fixtures().await;
    let addr = server.addr;

    let identity = get_json(addr, "/api/identity", 200).await;
    assert_eq!(
        keys(&identity),
        [
            "identity_file",
            "soul_file",
            "style_file",
            "instructions_file",
            "user_file"
        ]
    );
    assert!(identity.as_object().unwrap().values().all(Value::is_string));

    let version = get_json(addr, "/api/version", 200).await;
    assert_eq!(
        version,
        json!({"current": "0.4.4", "latest": "0.4.4", "update_available": false})
    );

    let health = get_json(addr, "/api/health", 200).await;
    assert_eq!(
        health,
        json!({"status": "healthy", "check_count": 12, "issues": [], "last_check": null})
    );

    let errors = get_json(addr, "/api/health/errors?limit=20", 200).await;
    assert_eq!(errors.as_array().unwrap().len(), 1);
    assert!(errors[0]["message"].as_str().unwrap().contains("Telegram"));
    assert_eq!(
        get_json(addr, "/api/health/errors?limit=0", 200).await,
        json!([])
    );
    assert_eq!(
        get_json(addr, "/api/health/errors?search=discord", 200).await,
        json!([])
    );
    get_json(addr, "/api/health/errors?limit=x", 422).await;

    let skills = get_json(addr, "/api/skills", 200).await;
    let skills = skills.as_array().unwrap();
    assert!(skills.len() >= 2);
    for s in skills {
        assert_eq!(keys(s), ["name", "description", "argument_hint"]);
    }

    let memory = get_json(addr, "/api/memory/long_term", 200).await;
    for m in memory.as_array().unwrap() {
        assert_eq!(keys(m), ["id", "content", "timestamp", "tags"]);
        assert!(m["tags"].is_array());
    }

    let audit = get_json(addr, "/api/audit", 200).await;
    assert!(!audit.as_array().unwrap().is_empty());
    for a in audit.as_array().unwrap() {
        assert_eq!(
            keys(a),
            [
                "id",
                "timestamp",
                "severity",
                "actor",
                "action",
                "target",
                "status",
                "context"
            ]
        );
    }

    assert!(get_json(addr, "/api/mcp/status", 200).await.is_object());
    assert!(get_json(addr, "/api/remote/status", 200).await.is_object());
}

#[tokio::test]
async fn other_api_paths_and_methods_are_the_real_servers_exact_json_404() {
    let server = Server::fixtures().await;
    for (method, path) in [
        ("GET", "/api/v1/sessions"),
        ("GET", "/api"),
        ("POST", "/api/backends"),
        ("POST", "/api/nope/deeper"),
        ("GET", "/api/mission-control/unknown"),
    ] {
        let r = request(server.addr, method, path, &[], b"").await;
        assert_eq!(r.status, 404, "{method} {path}");
        assert_eq!(r.header("content-type"), Some("application/json"));
        // Exactly FastAPI's body: the dashboard reads any other key as meaningful.
        assert_eq!(r.json(), json!({"detail": "Not Found"}), "{method} {path}");
    }
}

#[tokio::test]
async fn no_endpoint_ever_answers_401_or_403_even_with_a_bad_token() {
    let server = Server::fixtures().await;
    for path in [
        "/api/channels/status",
        "/api/sessions?limit=100",
        "/api/backends",
        "/api/identity",
        "/api/version",
        "/api/health",
        "/api/health/errors",
        "/api/skills",
        "/api/memory/long_term",
        "/api/audit",
        "/api/mcp/status",
        "/api/remote/status",
        "/api/auth/session",
        "/api/nope",
    ] {
        let r = get(
            server.addr,
            path,
            &[
                ("Authorization", "Bearer wrong"),
                ("Cookie", "pocketpaw_session=bad"),
            ],
        )
        .await;
        assert!(
            r.status != 401 && r.status != 403,
            "{path} gave {}",
            r.status
        );
    }
}

#[tokio::test]
async fn the_recordings_backend_json_decides_what_rest_returns() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::fixtures().join("weather.json"),
        dir.path().join("weather.json"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("backend.json"),
        r#"{
          // only what changes; the rest stays built in
          "version": {"current": "0.9.0", "latest": "1.0.0", "update_available": true},
          "backends": [],
          "health": {"status": "degraded", "check_count": 3, "issues": [{"check": "disk", "message": "low"}]}
        }"#,
    )
    .unwrap();
    let server = Server::instant(dir.path()).await;
    assert_eq!(
        get_json(server.addr, "/api/version", 200).await,
        json!({"current": "0.9.0", "latest": "1.0.0", "update_available": true})
    );
    assert_eq!(get_json(server.addr, "/api/backends", 200).await, json!([]));
    let health = get_json(server.addr, "/api/health", 200).await;
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["issues"][0]["check"], "disk");
    // Untouched sections keep the built-in data.
    let identity = get_json(server.addr, "/api/identity", 200).await;
    assert!(identity["soul_file"].as_str().unwrap().contains("Soul"));
}

#[tokio::test]
async fn a_body_announced_over_the_limit_is_refused_before_it_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = common::Server::fixtures().await;
    let mut s = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"POST /api/sessions/websocket_x/title HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    let _ = tokio::time::timeout(common::PATIENCE, s.read_to_string(&mut response)).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
}

/// Sends `body` as an HTTP/1.1 chunked request in `pieces` of the given size and returns
/// the raw response.
async fn chunked_post(addr: std::net::SocketAddr, path: &str, body: &[u8], piece: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    for part in body.chunks(piece) {
        let mut chunk = format!("{:x}\r\n", part.len()).into_bytes();
        chunk.extend_from_slice(part);
        chunk.extend_from_slice(b"\r\n");
        // The server may answer 413 and close before the rest is sent.
        if s.write_all(&chunk).await.is_err() {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let mut response = String::new();
    let _ = tokio::time::timeout(common::PATIENCE, s.read_to_string(&mut response)).await;
    response
}

#[tokio::test]
async fn a_chunked_body_is_read_up_to_the_limit_and_refused_past_it() {
    let server = common::Server::fixtures().await;
    server.app.sessions.append("websocket_c", "user", "words");
    let ok = chunked_post(
        server.addr,
        "/api/sessions/websocket_c/title",
        br#"{"title": "Sent in pieces"}"#,
        5,
    )
    .await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let list = get_json(server.addr, "/api/sessions", 200).await;
    assert_eq!(list["sessions"][0]["title"], "Sent in pieces");

    // No Content-Length to refuse up front: 100 KiB in 8 KiB pieces.
    let big = format!(r#"{{"title": "{}"}}"#, "x".repeat(100 * 1024));
    let refused = chunked_post(
        server.addr,
        "/api/sessions/websocket_c/title",
        big.as_bytes(),
        8 * 1024,
    )
    .await;
    assert!(refused.starts_with("HTTP/1.1 413"), "{refused}");
    assert!(
        refused.contains("request body over 65536 bytes"),
        "{refused}"
    );
    let list = get_json(server.addr, "/api/sessions", 200).await;
    assert_eq!(list["sessions"][0]["title"], "Sent in pieces");
}
