//! `GET /api/memory/session/export`: a stored session as the real backend exports it
//! (addendum C.7), as JSON or markdown, with its file name.

use serde_json::{Value, json};
use warp::http::{Response, StatusCode};

use super::{Reply, detail};
use crate::sessions::Session;
use crate::timestamp::iso8601;

pub(super) fn export(session: Option<Session>, id: Option<&str>, format: Option<&str>) -> Reply {
    let Some(id) = id.filter(|i| !i.is_empty()) else {
        return detail(StatusCode::BAD_REQUEST, "Missing required parameter: id");
    };
    let format = format.unwrap_or("json");
    if format != "json" && format != "md" {
        return detail(StatusCode::BAD_REQUEST, "Format must be 'json' or 'md'");
    }
    let Some(session) = session.filter(|s| !s.messages.is_empty()) else {
        return detail(StatusCode::NOT_FOUND, &format!("Session not found: {id}"));
    };
    let now = iso8601(std::time::SystemTime::now());
    let (body, content_type) = if format == "json" {
        (json_doc(&session, &now), "application/json")
    } else {
        (
            markdown(&session, &now).into_bytes(),
            "text/markdown; charset=utf-8",
        )
    };
    let short: String = session.id.chars().take(20).collect();
    let file_name: String = short
        .chars()
        .map(|c| {
            if c == '"' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", content_type)
        .header(
            "content-disposition",
            format!("attachment; filename=\"pocketpaw-session-{file_name}.{format}\""),
        )
        .body(body)
        .unwrap_or_else(|_| detail(StatusCode::INTERNAL_SERVER_ERROR, "bad response"))
}

/// `export_version` is the string `"1.0"`; messages carry the metadata the real
/// backend stores (a dashboard user message's raw frame, `{}` for the assistant).
fn json_doc(session: &Session, now: &str) -> Vec<u8> {
    let messages: Vec<Value> = session
        .messages
        .iter()
        .map(|m| {
            let metadata = if m.role == "user" {
                json!({"action": "chat", "message": m.content})
            } else {
                json!({})
            };
            json!({
                "id": uuid::Uuid::new_v4().to_string(),
                "role": m.role,
                "content": m.content,
                "timestamp": iso8601(m.at),
                "metadata": metadata,
            })
        })
        .collect();
    let doc = json!({
        "export_version": "1.0",
        "exported_at": now,
        "session_id": session.id,
        "message_count": messages.len(),
        "messages": messages,
    });
    serde_json::to_vec_pretty(&doc).unwrap_or_default()
}

/// The real backend's layout: lines joined with `\n`, no trailing newline.
fn markdown(session: &Session, now: &str) -> String {
    let mut lines = vec![
        "# Conversation Export".to_owned(),
        format!(
            "**Session**: `{}` | **Messages**: {} | **Exported**: {} {}",
            session.id,
            session.messages.len(),
            &now[..10],
            &now[11..16]
        ),
        String::new(),
        "---".to_owned(),
        String::new(),
    ];
    for m in &session.messages {
        let at = iso8601(m.at);
        let mut role = m.role.clone();
        if let Some(first) = role.get(..1).map(str::to_uppercase) {
            role.replace_range(..1, &first);
        }
        lines.push(format!("**{role}** ({}):", &at[11..16]));
        lines.push(m.content.clone());
        lines.push(String::new());
        lines.push("---".to_owned());
        lines.push(String::new());
    }
    lines.pop();
    lines.join("\n")
}
