//! Calls to the control API (`/__pawmock/…`) that the control tests share.

use std::time::Duration;

use serde_json::Value;

use super::Server;
use super::http;

/// One request to the control API: its status and JSON answer.
pub async fn api(s: &Server, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let r = http::request(s.addr, method, path, &[], body.as_bytes()).await;
    (r.status, r.json())
}

/// The id of the only live connection of `run`, waiting for it to register.
pub async fn conn_id(s: &Server, run: &str) -> String {
    for _ in 0..200 {
        let (_, list) = api(s, "GET", &format!("/__pawmock/connections?run={run}"), None).await;
        if let Some(c) = list.as_array().and_then(|l| l.first()) {
            return c["id"].as_str().unwrap().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no connection of run {run} registered");
}

/// `POST /__pawmock/connections/{id}/{action}`, which must succeed.
pub async fn command(s: &Server, id: &str, action: &str, body: Option<Value>) -> Value {
    let (status, answer) = api(
        s,
        "POST",
        &format!("/__pawmock/connections/{id}/{action}"),
        body,
    )
    .await;
    assert_eq!(status, 200, "{action}: {answer}");
    answer
}

/// The journal's entries for `query` (`?run=x`, `?connection=c1`, …).
pub async fn journal(s: &Server, query: &str) -> Vec<Value> {
    let (status, page) = api(s, "GET", &format!("/__pawmock/journal{query}"), None).await;
    assert_eq!(status, 200, "{page}");
    page["entries"].as_array().unwrap().clone()
}
