//! Mission Control and Deep Work (addendum B.7, B.8): the canned agents, tasks,
//! activity and projects, and the creates, edits and deletes the Crew view makes.

use serde_json::{Map, Value, json};
use warp::http::{Method, StatusCode};

use super::{Reply, Req, detail, ok};
use crate::backend::panel_data::{McKind, full, stats};
use crate::backend::panels::MAX_ITEMS;
use crate::timestamp::iso8601;

pub(super) fn answer(req: &Req) -> Option<Reply> {
    match req.path {
        ["mission-control", rest @ ..] => mission_control(req, rest),
        ["deep-work", rest @ ..] => deep_work(req, rest),
        _ => None,
    }
}

fn now() -> String {
    iso8601(std::time::SystemTime::now())
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn list(req: &Req, kind: McKind) -> Vec<Value> {
    let panels = req.app.panels.lock();
    panels.mission_control(req.data).list(kind).clone()
}

fn find(req: &Req, kind: McKind, id: &str) -> Option<Value> {
    list(req, kind)
        .into_iter()
        .find(|v| v["id"].as_str() == Some(id))
}

fn not_found(what: &str) -> Reply {
    detail(StatusCode::NOT_FOUND, &format!("{what} not found"))
}

fn mission_control(req: &Req, path: &[&str]) -> Option<Reply> {
    use McKind::{Activity, Agent, Project, Task};
    Some(match (req.method, path) {
        (&Method::GET, ["agents"]) => listed("agents", list(req, Agent)),
        (&Method::GET, ["tasks"]) => {
            let mut tasks = list(req, Task);
            for key in ["status", "project_id"] {
                if let Some(want) = req.param(key) {
                    tasks.retain(|t| t[key].as_str() == Some(want));
                }
            }
            listed("tasks", tasks)
        }
        (&Method::GET, ["activity"]) => {
            let mut all = list(req, Activity);
            all.reverse();
            listed("activities", all)
        }
        (&Method::GET, ["stats"]) => {
            let panels = req.app.panels.lock();
            ok(&json!({"stats": stats(panels.mission_control(req.data))}))
        }
        (&Method::GET, ["projects"]) => listed("projects", list(req, Project)),
        (&Method::POST, ["agents"]) => create(req, Agent),
        (&Method::DELETE, ["agents", id]) => delete(req, Agent, id),
        (&Method::POST, ["tasks"]) => create(req, Task),
        (&Method::PATCH, ["tasks", id]) => edit_task(req, id, |_, body| Ok(body)),
        (&Method::DELETE, ["tasks", id]) => delete(req, Task, id),
        (&Method::POST, ["tasks", id, "assign"]) => edit_task(req, id, |_, body| {
            let ids = body.get("agent_ids").cloned().unwrap_or(json!([]));
            if !ids.is_array() {
                return Err("agent_ids must be a list of agent ids".into());
            }
            Ok(Map::from_iter([
                ("assignee_ids".to_owned(), ids),
                ("status".to_owned(), json!("assigned")),
            ]))
        }),
        (&Method::POST, ["tasks", id, "status"]) => edit_task(req, id, |_, body| {
            const STATUSES: [&str; 7] = [
                "inbox",
                "assigned",
                "in_progress",
                "review",
                "done",
                "blocked",
                "skipped",
            ];
            match body.get("status").and_then(Value::as_str) {
                Some(s) if STATUSES.contains(&s) => {
                    Ok(Map::from_iter([("status".to_owned(), json!(s))]))
                }
                other => Err(format!(
                    "Invalid status: {} (use one of {})",
                    other.unwrap_or("none"),
                    STATUSES.join(", ")
                )),
            }
        }),
        (&Method::POST, ["tasks", id, "run"]) => run_task(req, id),
        (&Method::POST, ["tasks", id, "stop"]) => match find(req, Task, id) {
            None => not_found("Task"),
            Some(_) => {
                set_fields(req, Task, id, json!({"status": "review"}));
                ok(&json!({"status": "stopped", "task_id": id, "message": "Task stopped"}))
            }
        },
        (&Method::GET, ["tasks", id, "messages"]) => match find(req, Task, id) {
            None => not_found("Task"),
            Some(_) => {
                let panels = req.app.panels.lock();
                let messages = panels.task_messages.get(*id).cloned().unwrap_or_default();
                listed("messages", messages)
            }
        },
        (&Method::POST, ["tasks", id, "messages"]) => post_message(req, id),
        (&Method::GET, ["tasks", id, "documents"]) => match find(req, Task, id) {
            None => not_found("Task"),
            Some(_) => listed("documents", Vec::new()),
        },
        (&Method::DELETE, ["projects", id]) => delete(req, Project, id),
        _ => return None,
    })
}

/// `{"<key>": [...], "count": n}`.
fn listed(key: &str, items: Vec<Value>) -> Reply {
    let mut m = Map::new();
    m.insert("count".into(), Value::from(items.len()));
    m.insert(key.into(), Value::from(items));
    ok(&Value::Object(m))
}

/// Merges `fields` into the object `id` of `kind`, stamping `updated_at`.
fn set_fields(req: &Req, kind: McKind, id: &str, fields: Value) -> Option<Value> {
    let mut panels = req.app.panels.lock();
    let item = panels.mc_item_mut(req.data, kind, id)?;
    if let (Value::Object(item), Value::Object(fields)) = (&mut *item, fields) {
        item.extend(fields);
        item.insert("updated_at".into(), Value::from(now()));
    }
    Some(item.clone())
}

/// Adds an activity feed entry, as the real backend logs one per change.
fn log_activity(req: &Req, kind: &str, message: String, task_id: Option<&str>) {
    let entry = full(
        McKind::Activity,
        &Map::from_iter([
            ("id".to_owned(), Value::from(new_id())),
            ("type".to_owned(), Value::from(kind)),
            ("message".to_owned(), Value::from(message)),
            (
                "task_id".to_owned(),
                task_id.map_or(Value::Null, Value::from),
            ),
        ]),
        &now(),
    );
    let mut panels = req.app.panels.lock();
    let feed = panels
        .mission_control_mut(req.data)
        .list_mut(McKind::Activity);
    feed.push(entry);
    let excess = feed.len().saturating_sub(MAX_ITEMS);
    feed.drain(..excess);
}

/// `POST /agents` and `POST /tasks`: the body's fields over the defaults, a new id.
fn create(req: &Req, kind: McKind) -> Reply {
    let body = match req.json() {
        Ok(b) => b,
        Err(bad) => return *bad,
    };
    let required = kind.required();
    if body
        .get(required)
        .and_then(Value::as_str)
        .is_none_or(|s| s.trim().is_empty())
    {
        return detail(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("`{required}` is required"),
        );
    }
    let mut fields = body;
    fields.insert("id".into(), Value::from(new_id()));
    let item = full(kind, &fields, &now());
    {
        let mut panels = req.app.panels.lock();
        let items = panels.mission_control_mut(req.data).list_mut(kind);
        if items.len() >= MAX_ITEMS {
            return detail(
                StatusCode::BAD_REQUEST,
                &format!("pawmock keeps at most {MAX_ITEMS} of these; delete some first"),
            );
        }
        items.push(item.clone());
    }
    let (key, label) = match kind {
        McKind::Agent => ("agent", "Agent"),
        _ => ("task", "Task"),
    };
    let name = item[required].as_str().unwrap_or_default();
    log_activity(
        req,
        &format!("{key}_created"),
        format!("{label} created: {name}"),
        (kind == McKind::Task).then(|| item["id"].as_str().unwrap_or_default()),
    );
    let mut reply = Map::new();
    reply.insert(key.into(), item);
    ok(&Value::Object(reply))
}

fn delete(req: &Req, kind: McKind, id: &str) -> Reply {
    let removed = {
        let mut panels = req.app.panels.lock();
        let items = panels.mission_control_mut(req.data).list_mut(kind);
        let before = items.len();
        items.retain(|v| v["id"].as_str() != Some(id));
        items.len() < before
    };
    let label = match kind {
        McKind::Agent => "Agent",
        McKind::Task => "Task",
        McKind::Project => "Project",
        McKind::Activity => "Activity",
    };
    if removed {
        ok(&json!({"success": true, "message": format!("{label} deleted")}))
    } else {
        not_found(label)
    }
}

/// Changes a task with the fields `change` makes of the body (or its 400 message).
fn edit_task(
    req: &Req,
    id: &str,
    change: impl FnOnce(&Value, Map<String, Value>) -> Result<Map<String, Value>, String>,
) -> Reply {
    let body = match req.json() {
        Ok(b) => b,
        Err(bad) => return *bad,
    };
    let Some(task) = find(req, McKind::Task, id) else {
        return not_found("Task");
    };
    let mut fields = match change(&task, body) {
        Ok(f) => f,
        Err(message) => return detail(StatusCode::BAD_REQUEST, &message),
    };
    fields.remove("id");
    match set_fields(req, McKind::Task, id, Value::Object(fields)) {
        Some(task) => ok(&json!({"task": task})),
        None => not_found("Task"),
    }
}

fn run_task(req: &Req, id: &str) -> Reply {
    let body = match req.json() {
        Ok(b) => b,
        Err(bad) => return *bad,
    };
    let agent_id = Req::field(&body, "agent_id").unwrap_or_default();
    let Some(agent) = find(req, McKind::Agent, &agent_id) else {
        return not_found("Agent");
    };
    if find(req, McKind::Task, id).is_none() {
        return not_found("Task");
    }
    set_fields(
        req,
        McKind::Task,
        id,
        json!({"status": "in_progress", "started_at": now()}),
    );
    let name = agent["name"].as_str().unwrap_or_default();
    ok(&json!({
        "status": "started",
        "task_id": id,
        "agent_id": agent_id,
        "agent_name": name,
        "message": format!("Task started with agent {name}"),
    }))
}

fn post_message(req: &Req, id: &str) -> Reply {
    let body = match req.json() {
        Ok(b) => b,
        Err(bad) => return *bad,
    };
    if find(req, McKind::Task, id).is_none() {
        return not_found("Task");
    }
    let Some(content) = Req::field(&body, "content").filter(|c| !c.trim().is_empty()) else {
        return detail(StatusCode::UNPROCESSABLE_ENTITY, "`content` is required");
    };
    let message = json!({
        "id": new_id(),
        "task_id": id,
        "from_agent_id": body.get("from_agent_id").cloned().unwrap_or(Value::Null),
        "content": content,
        "attachment_ids": [],
        "mentions": [],
        "created_at": now(),
    });
    let mut panels = req.app.panels.lock();
    if panels.task_messages.values().map(Vec::len).sum::<usize>() >= MAX_ITEMS {
        return detail(
            StatusCode::BAD_REQUEST,
            &format!("pawmock keeps at most {MAX_ITEMS} task messages in all"),
        );
    }
    let thread = panels.task_messages.entry((*id).to_owned()).or_default();
    thread.push(message.clone());
    ok(&json!({"message": message}))
}

fn deep_work(req: &Req, path: &[&str]) -> Option<Reply> {
    Some(match (req.method, path) {
        (&Method::POST, ["parse-goal"]) => match description(req) {
            Ok(d) => ok(&json!({"success": true, "goal_analysis": goal_analysis(&d)})),
            Err(bad) => *bad,
        },
        (&Method::POST, ["start"]) => start(req),
        (&Method::GET, ["projects", id, "plan"]) => plan(req, id),
        (&Method::POST, ["projects", id, action @ ("approve" | "pause" | "resume")]) => {
            let status = match *action {
                "pause" => "paused",
                _ => "executing",
            };
            let mut fields = json!({"status": status});
            if *action == "approve" {
                fields["started_at"] = Value::from(now());
            }
            match set_fields(req, McKind::Project, id, fields) {
                Some(project) => ok(&json!({"success": true, "project": project})),
                None => not_found("Project"),
            }
        }
        (&Method::POST, ["projects", pid, "tasks", tid, "skip"]) => {
            if find(req, McKind::Project, pid).is_none() {
                return Some(not_found("Project"));
            }
            match set_fields(req, McKind::Task, tid, json!({"status": "skipped"})) {
                Some(task) => {
                    ok(&json!({"success": true, "task": task, "progress": progress(req, pid)}))
                }
                None => not_found("Task"),
            }
        }
        _ => return None,
    })
}

/// The goal text (10 to 5000 characters), or the 422 the real backend's model gives.
fn description(req: &Req) -> Result<String, Box<Reply>> {
    let body = req.json()?;
    let text = Req::field(&body, "description").unwrap_or_default();
    let n = text.trim().chars().count();
    if !(10..=5000).contains(&n) {
        return Err(Box::new(detail(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("description must be 10 to 5000 characters, got {n}"),
        )));
    }
    Ok(text.trim().to_owned())
}

fn goal_analysis(goal: &str) -> Value {
    json!({
        "goal": goal,
        "domain": "general",
        "sub_domains": [],
        "complexity": "M",
        "estimated_phases": 3,
        "ai_capabilities": ["research", "writing"],
        "human_requirements": [],
        "constraints_detected": [],
        "clarifications_needed": [],
        "suggested_research_depth": "standard",
        "confidence": 0.8,
    })
}

fn start(req: &Req) -> Reply {
    let goal = match description(req) {
        Ok(d) => d,
        Err(bad) => return *bad,
    };
    let title: String = goal.chars().take(60).collect();
    let fields = Map::from_iter([
        ("id".to_owned(), Value::from(new_id())),
        ("title".to_owned(), Value::from(title)),
        ("description".to_owned(), Value::from(goal.as_str())),
        ("status".to_owned(), Value::from("planning")),
        ("started_at".to_owned(), Value::from(now())),
    ]);
    let project = full(McKind::Project, &fields, &now());
    let id = project["id"].as_str().unwrap_or_default().to_owned();
    let mut panels = req.app.panels.lock();
    let projects = panels
        .mission_control_mut(req.data)
        .list_mut(McKind::Project);
    if projects.len() >= MAX_ITEMS {
        return detail(
            StatusCode::BAD_REQUEST,
            &format!("pawmock keeps at most {MAX_ITEMS} projects; delete some first"),
        );
    }
    projects.push(project.clone());
    if panels.plans.len() < MAX_ITEMS {
        panels.plans.insert(id, goal_analysis(&goal));
    }
    ok(&json!({"success": true, "project": project}))
}

fn progress(req: &Req, project_id: &str) -> Value {
    let tasks: Vec<Value> = list(req, McKind::Task)
        .into_iter()
        .filter(|t| t["project_id"].as_str() == Some(project_id))
        .collect();
    let count = |s: &str| tasks.iter().filter(|t| t["status"] == s).count();
    let (done, skipped) = (count("done"), count("skipped"));
    let total = tasks.len();
    json!({
        "total": total, "completed": done, "skipped": skipped,
        "in_progress": count("in_progress"), "blocked": count("blocked"), "human_pending": 0,
        "percent": if total == 0 { 0.0 } else { ((done + skipped) as f64 * 100.0 / total as f64).round() },
    })
}

fn plan(req: &Req, id: &str) -> Reply {
    let Some(project) = find(req, McKind::Project, id) else {
        return not_found("Project");
    };
    let tasks: Vec<Value> = list(req, McKind::Task)
        .into_iter()
        .filter(|t| t["project_id"].as_str() == Some(id))
        .collect();
    let ids: Vec<Value> = tasks.iter().map(|t| t["id"].clone()).collect();
    let level_map: Map<String, Value> = ids
        .iter()
        .filter_map(|i| i.as_str().map(|s| (s.to_owned(), Value::from(0))))
        .collect();
    let analysis = req.app.panels.lock().plans.get(id).cloned();
    ok(&json!({
        "project": project,
        "tasks": tasks,
        "progress": progress(req, id),
        "prd": null,
        "execution_levels": if ids.is_empty() { json!([]) } else { json!([ids]) },
        "task_level_map": level_map,
        "goal_analysis": analysis,
    }))
}
