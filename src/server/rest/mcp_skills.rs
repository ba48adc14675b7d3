//! MCP servers and the skills library (addendum B.3).

use serde_json::{Map, Value, json};
use warp::http::{Method, StatusCode};

use super::{Reply, Req, error_200, json_reply, ok};
use crate::backend::panels::MAX_ITEMS;

pub(super) fn answer(req: &Req) -> Option<Reply> {
    Some(match (req.method, req.path) {
        (&Method::GET, ["mcp", "presets"]) => ok(&Value::from(presets(req))),
        (&Method::GET, ["mcp", "status"]) => ok(&Value::Object(status(req))),
        (&Method::POST, ["mcp", "add"]) => add(req),
        (&Method::POST, ["mcp", "remove"]) => remove(req),
        (&Method::POST, ["mcp", "toggle"]) => toggle(req),
        (&Method::POST, ["mcp", "presets", "install"]) => install_preset(req),
        (&Method::GET, ["skills", "search"]) => search(req),
        (&Method::POST, ["skills", "install"]) => install_skill(req),
        (&Method::POST, ["skills", "remove"]) => remove_skill(req),
        _ => return None,
    })
}

/// The catalog, each preset's `installed` as the run left it.
fn presets(req: &Req) -> Vec<Value> {
    let installed = status(req);
    req.data
        .mcp_presets
        .iter()
        .map(|p| {
            let mut p = p.clone();
            let id = p["id"].as_str().unwrap_or_default().to_owned();
            p["installed"] = Value::Bool(installed.contains_key(&id));
            p
        })
        .collect()
}

/// `GET /api/mcp/status`: the canned servers, less the removed, plus the added, with
/// the toggles applied.
fn status(req: &Req) -> Map<String, Value> {
    let panels = req.app.panels.lock();
    let mut all = req.data.mcp_status.as_object().cloned().unwrap_or_default();
    all.retain(|name, _| !panels.mcp_removed.contains(name));
    for (name, entry) in &panels.mcp_added {
        all.insert(name.clone(), entry.clone());
    }
    for (name, enabled) in &panels.mcp_enabled {
        if let Some(Value::Object(e)) = all.get_mut(name) {
            e.insert("enabled".into(), Value::Bool(*enabled));
            e.insert("connected".into(), Value::Bool(*enabled));
        }
    }
    all
}

fn server_entry(transport: &str, tools: usize) -> Value {
    json!({"connected": true, "tool_count": tools, "error": "", "transport": transport, "enabled": true})
}

fn name_of(req: &Req) -> Result<(String, Map<String, Value>), Box<Reply>> {
    let body = req.json()?;
    match Req::field(&body, "name").map(|n| n.trim().to_owned()) {
        Some(n) if !n.is_empty() => Ok((n, body)),
        _ => Err(Box::new(error_200("Server name is required"))),
    }
}

fn add(req: &Req) -> Reply {
    let (name, body) = match name_of(req) {
        Ok(x) => x,
        Err(bad) => return *bad,
    };
    let transport = Req::field(&body, "transport").unwrap_or_else(|| "stdio".into());
    let mut panels = req.app.panels.lock();
    if panels.mcp_added.len() >= MAX_ITEMS && !panels.mcp_added.contains_key(&name) {
        return error_200(&format!("pawmock keeps at most {MAX_ITEMS} added servers"));
    }
    panels.mcp_removed.remove(&name);
    panels.mcp_enabled.remove(&name);
    panels.mcp_added.insert(name, server_entry(&transport, 3));
    ok(&json!({"status": "ok"}))
}

fn remove(req: &Req) -> Reply {
    let (name, _) = match name_of(req) {
        Ok(x) => x,
        Err(bad) => return *bad,
    };
    if !status(req).contains_key(&name) {
        return error_200(&format!("Server '{name}' not found"));
    }
    let mut panels = req.app.panels.lock();
    panels.mcp_added.remove(&name);
    panels.mcp_removed.insert(name);
    ok(&json!({"status": "ok"}))
}

fn toggle(req: &Req) -> Reply {
    let (name, _) = match name_of(req) {
        Ok(x) => x,
        Err(bad) => return *bad,
    };
    let Some(entry) = status(req).get(&name).cloned() else {
        return error_200(&format!("Server '{name}' not found"));
    };
    let enabled = !entry["enabled"].as_bool().unwrap_or(true);
    req.app.panels.lock().mcp_enabled.insert(name, enabled);
    if enabled {
        ok(&json!({"status": "ok", "enabled": true, "connected": true}))
    } else {
        ok(&json!({"status": "ok", "enabled": false}))
    }
}

fn install_preset(req: &Req) -> Reply {
    let body = match req.json() {
        Ok(b) => b,
        Err(bad) => return *bad,
    };
    let Some(id) = Req::field(&body, "preset_id") else {
        return json_reply(
            StatusCode::BAD_REQUEST,
            &json!({"error": "preset_id is required"}),
        );
    };
    let Some(preset) = req
        .data
        .mcp_presets
        .iter()
        .find(|p| p["id"].as_str() == Some(id.as_str()))
    else {
        return json_reply(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("Unknown preset: {id}")}),
        );
    };
    let transport = preset["transport"].as_str().unwrap_or("stdio");
    let name = preset["name"].as_str().unwrap_or(&id);
    let tools = vec![
        json!({"name": format!("{id}_search"), "description": format!("Search {name}")}),
        json!({"name": format!("{id}_read"), "description": format!("Read an item from {name}")}),
    ];
    let mut panels = req.app.panels.lock();
    panels.mcp_removed.remove(&id);
    panels
        .mcp_added
        .insert(id.clone(), server_entry(transport, tools.len()));
    ok(&json!({"status": "ok", "connected": true, "tools": tools}))
}

/// The library search: canned skills whose id or name contains the query.
fn search(req: &Req) -> Reply {
    let q = req.param("q").unwrap_or("").trim().to_lowercase();
    if q.is_empty() {
        return ok(&json!({"skills": [], "count": 0}));
    }
    let limit = req
        .param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(30);
    let found: Vec<Value> = req
        .data
        .skills_library
        .iter()
        .filter(|s| s.id.to_lowercase().contains(&q) || s.name.to_lowercase().contains(&q))
        .take(limit)
        .map(|s| {
            json!({
                "id": s.id,
                "skillId": s.id.rsplit('/').next().unwrap_or(&s.id),
                "name": s.name,
                "source": s.source,
                "installs": s.installs,
            })
        })
        .collect();
    ok(&json!({"count": found.len(), "skills": found}))
}

fn install_skill(req: &Req) -> Reply {
    let body = match req.json() {
        Ok(b) => b,
        Err(bad) => return *bad,
    };
    let source = Req::field(&body, "source").unwrap_or_default();
    let parts: Vec<&str> = source.split('/').filter(|p| !p.is_empty()).collect();
    if !(2..=3).contains(&parts.len()) {
        return json_reply(
            StatusCode::BAD_REQUEST,
            &json!({"error": "Source must be owner/repo or owner/repo/skill"}),
        );
    }
    let name = parts[parts.len() - 1].to_owned();
    if name.chars().any(char::is_whitespace) {
        return json_reply(
            StatusCode::BAD_REQUEST,
            &json!({"error": "A skill name is one word"}),
        );
    }
    let mut panels = req.app.panels.lock();
    panels.skills_removed.remove(&name);
    if panels.skills_installed.len() >= MAX_ITEMS {
        return json_reply(
            StatusCode::BAD_REQUEST,
            &json!({"error": format!("pawmock keeps at most {MAX_ITEMS} installed skills")}),
        );
    }
    if !panels.skills_installed.contains(&name) {
        panels.skills_installed.push(name.clone());
    }
    ok(&json!({"status": "ok", "installed": [name]}))
}

fn remove_skill(req: &Req) -> Reply {
    let body = match req.json() {
        Ok(b) => b,
        Err(bad) => return *bad,
    };
    let name = Req::field(&body, "name").unwrap_or_default();
    let mut panels = req.app.panels.lock();
    let installed =
        panels.skills_installed.contains(&name) || req.data.skills.iter().any(|s| s.name == name);
    if !installed {
        return json_reply(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("Skill '{name}' not found")}),
        );
    }
    panels.skills_installed.retain(|s| *s != name);
    ok(&json!({"status": "ok"}))
}
