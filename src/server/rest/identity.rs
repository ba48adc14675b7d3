//! Identity, audit and memory settings (addendum B.4).

use serde_json::{Map, Value, json};
use warp::http::{Method, StatusCode};

use super::{Reply, Req, detail, json_reply, ok};
use crate::backend::data::BackendData;
use crate::backend::panel_data::{AuditCheckSpec, audit_summary};
use crate::backend::panels::Panels;
use crate::timestamp::iso8601;

/// The identity fields and the files the real backend writes them to.
const FILES: [(&str, &str); 5] = [
    ("identity_file", "IDENTITY.md"),
    ("soul_file", "SOUL.md"),
    ("style_file", "STYLE.md"),
    ("instructions_file", "INSTRUCTIONS.md"),
    ("user_file", "USER.md"),
];

pub(super) fn answer(req: &Req) -> Option<Reply> {
    Some(match (req.method, req.path) {
        (&Method::PUT, ["identity"]) => save_identity(req),
        (&Method::DELETE, ["audit"]) => {
            req.app.panels.lock().audit_cleared = true;
            ok(&json!({"ok": true}))
        }
        (&Method::POST, ["security-audit"]) => {
            let (total, passed, issues) = audit_summary(&req.data.security_audit);
            ok(&json!({
                "total": total, "passed": passed, "issues": issues,
                "results": req.data.security_audit,
            }))
        }
        (&Method::GET, ["self-audit", "reports"]) => ok(&Value::from(reports(req))),
        (&Method::GET, ["self-audit", "reports", date]) => report(req, date),
        (&Method::POST, ["self-audit", "run"]) => run_self_audit(req),
        (&Method::GET, ["memory", "settings"]) => ok(&memory_settings(req)),
        (&Method::POST, ["memory", "settings"]) => match req.json() {
            Ok(_) => ok(&json!({"status": "ok"})),
            Err(bad) => *bad,
        },
        (&Method::DELETE, ["memory", "long_term", id]) => {
            let known = req
                .data
                .memory
                .as_array()
                .is_some_and(|all| all.iter().any(|m| m["id"].as_str() == Some(*id)));
            let mut panels = req.app.panels.lock();
            if known && panels.memories_deleted.insert((*id).to_owned()) {
                ok(&json!({"ok": true}))
            } else {
                detail(StatusCode::NOT_FOUND, "Memory not found")
            }
        }
        (&Method::GET, ["memory", "stats"]) => ok(&json!({
            "backend": "file",
            "total_memories": "N/A (use mem0 for stats)",
        })),
        _ => return None,
    })
}

/// `GET /api/memory/long_term`: the canned memories less those deleted.
pub(super) fn memories(data: &BackendData, panels: &Panels) -> Value {
    let all = data.memory.as_array().cloned().unwrap_or_default();
    Value::from(
        all.into_iter()
            .filter(|m| {
                !m["id"]
                    .as_str()
                    .is_some_and(|id| panels.memories_deleted.contains(id))
            })
            .collect::<Vec<_>>(),
    )
}

/// `GET /api/identity`: the canned texts with what the run saved on top.
pub(super) fn current(data: &BackendData, panels: &Panels) -> Value {
    let mut identity = data.identity.clone();
    if let Value::Object(map) = &mut identity {
        map.extend(panels.identity.clone());
    }
    identity
}

fn save_identity(req: &Req) -> Reply {
    let body = match req.json() {
        Ok(b) => b,
        Err(bad) => return *bad,
    };
    let mut saved = Map::new();
    let mut updated = Vec::new();
    for (key, file) in FILES {
        match body.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(text)) => {
                saved.insert(key.to_owned(), Value::from(text.as_str()));
                updated.push(file);
            }
            Some(other) => {
                return detail(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("`{key}` must be a string, got {other}"),
                );
            }
        }
    }
    req.app.panels.lock().identity.extend(saved);
    ok(&json!({"ok": true, "updated": updated}))
}

/// A report in the real backend's shape, from its checks.
fn report_json(timestamp: &str, results: &[AuditCheckSpec]) -> Value {
    let (total, passed, issues) = audit_summary(results);
    let results: Vec<Value> = results
        .iter()
        .map(|r| json!({"check": r.check, "passed": r.passed, "message": r.message}))
        .collect();
    json!({"timestamp": timestamp, "total_checks": total, "passed": passed, "issues": issues, "results": results})
}

/// Every report, newest first: those run now, then the canned ones.
fn all_reports(req: &Req) -> Vec<(String, Value)> {
    let runs = req.app.panels.lock().self_audit_runs.clone();
    let mut all: Vec<(String, Value)> = runs
        .into_iter()
        .rev()
        .map(|r| (r["timestamp"].as_str().unwrap_or("")[..10].to_owned(), r))
        .collect();
    for r in &req.data.self_audit_reports {
        if !all.iter().any(|(d, _)| *d == r.date) {
            all.push((
                r.date.clone(),
                report_json(&format!("{}T03:00:00.000000+00:00", r.date), &r.results),
            ));
        }
    }
    all
}

fn reports(req: &Req) -> Vec<Value> {
    all_reports(req)
        .into_iter()
        .take(20)
        .map(|(date, r)| json!({"date": date, "total": r["total_checks"], "passed": r["passed"], "issues": r["issues"]}))
        .collect()
}

fn report(req: &Req, date: &str) -> Reply {
    match all_reports(req).into_iter().find(|(d, _)| d == date) {
        Some((_, r)) => ok(&r),
        None => detail(
            StatusCode::NOT_FOUND,
            &format!("No report found for {date}"),
        ),
    }
}

/// Runs the self-audit: the newest canned report's checks (or the security audit's),
/// stored as today's report.
fn run_self_audit(req: &Req) -> Reply {
    let checks = req
        .data
        .self_audit_reports
        .first()
        .map(|r| r.results.clone())
        .unwrap_or_else(|| req.data.security_audit.clone());
    let r = report_json(&iso8601(std::time::SystemTime::now()), &checks);
    let mut panels = req.app.panels.lock();
    panels.self_audit_runs.push(r.clone());
    // Bounded: one report a day is stored on the real backend; keep the last 20.
    let excess = panels.self_audit_runs.len().saturating_sub(20);
    panels.self_audit_runs.drain(..excess);
    json_reply(StatusCode::OK, &r)
}

fn memory_settings(req: &Req) -> Value {
    let settings = req.app.backend.settings(req.data);
    let get = |k: &str, default: Value| settings.get(k).cloned().unwrap_or(default);
    json!({
        "memory_backend": get("memoryBackend", json!("file")),
        "memory_use_inference": true,
        "mem0_llm_provider": get("mem0LlmProvider", json!("anthropic")),
        "mem0_llm_model": get("mem0LlmModel", json!("")),
        "mem0_embedder_provider": get("mem0EmbedderProvider", json!("openai")),
        "mem0_embedder_model": get("mem0EmbedderModel", json!("")),
        "mem0_vector_store": get("mem0VectorStore", json!("qdrant")),
        "mem0_ollama_base_url": get("mem0OllamaBaseUrl", json!("http://localhost:11434")),
        "mem0_auto_learn": get("mem0AutoLearn", json!(true)),
    })
}
