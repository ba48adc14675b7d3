//! Channels and webhooks (addendum B.2): status, start/stop, webhooks, extras, the
//! WhatsApp pairing QR.

use serde_json::{Value, json};
use warp::http::{Method, StatusCode};

use super::{Reply, Req, detail, error_200, ok};
use crate::backend::data::{BackendData, WebhookSpec};
use crate::backend::panels::{MAX_ITEMS, Panels};

/// The channels the real backend knows, as the toggle accepts them.
const CHANNELS: [&str; 8] = [
    "discord",
    "slack",
    "whatsapp",
    "telegram",
    "signal",
    "matrix",
    "teams",
    "google_chat",
];

pub(super) fn answer(req: &Req) -> Option<Reply> {
    Some(match (req.method, req.path) {
        (&Method::POST, ["channels", "toggle"]) => toggle(req),
        (&Method::POST, ["channels", "save"]) => save(req),
        (&Method::GET, ["webhooks"]) => list_webhooks(req),
        (&Method::POST, ["webhooks", "add"]) => add_webhook(req),
        (&Method::POST, ["webhooks", "remove"]) => remove_webhook(req),
        (&Method::POST, ["webhooks", "regenerate-secret"]) => regenerate_secret(req),
        (&Method::GET, ["extras", "check"]) => {
            let channel = req.param("channel").unwrap_or("");
            ok(&json!({
                "installed": true,
                "extra": channel,
                "package": format!("pocketpaw[{channel}]"),
                "pip_spec": format!("pocketpaw[{channel}]"),
            }))
        }
        (&Method::POST, ["extras", "install"]) => match req.json() {
            Err(bad) => *bad,
            Ok(body) if Req::field(&body, "extra").is_none_or(|e| e.is_empty()) => {
                error_200("No extra given: send {\"extra\": \"<channel>\"}")
            }
            Ok(_) => ok(&json!({"status": "ok"})),
        },
        (&Method::GET, ["whatsapp", "qr"]) => ok(&json!({"qr": null, "connected": false})),
        _ => return None,
    })
}

/// `GET /api/channels/status`: the canned channels with the run's starts and stops.
pub(super) fn status(data: &BackendData, panels: &Panels) -> Value {
    let mut channels = data.channels.clone();
    if let Value::Object(map) = &mut channels {
        for name in &panels.channels_saved {
            if let Some(Value::Object(c)) = map.get_mut(name) {
                c.insert("configured".into(), Value::Bool(true));
            }
        }
        for (name, running) in &panels.channels_running {
            if let Some(Value::Object(c)) = map.get_mut(name) {
                c.insert("running".into(), Value::Bool(*running));
            }
        }
    }
    channels
}

/// The name the real backend's messages use: `google_chat` → `Google Chat`.
fn display(channel: &str) -> String {
    channel
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Saving a channel's tokens makes it configured, so it can be started. (The reference
/// gives no reply shape for this call; pawmock answers `{"status": "ok"}`.)
fn save(req: &Req) -> Reply {
    let body = match req.json() {
        Ok(b) => b,
        Err(bad) => return *bad,
    };
    let channel = Req::field(&body, "channel").unwrap_or_default();
    if !CHANNELS.contains(&channel.as_str()) {
        return detail(
            StatusCode::BAD_REQUEST,
            &format!("Unknown channel: {channel}"),
        );
    }
    req.app.panels.lock().channels_saved.insert(channel);
    ok(&json!({"status": "ok"}))
}

fn toggle(req: &Req) -> Reply {
    let body = match req.json() {
        Ok(b) => b,
        Err(bad) => return *bad,
    };
    let channel = Req::field(&body, "channel").unwrap_or_default();
    let action = Req::field(&body, "action").unwrap_or_default();
    if !CHANNELS.contains(&channel.as_str()) {
        return detail(
            StatusCode::BAD_REQUEST,
            &format!("Unknown channel: {channel}"),
        );
    }
    if action != "start" && action != "stop" {
        return detail(
            StatusCode::BAD_REQUEST,
            &format!("Invalid action: {action} (use start or stop)"),
        );
    }
    let mut panels = req.app.panels.lock();
    let current = status(req.data, &panels);
    let state = &current[&channel];
    let configured = state["configured"].as_bool().unwrap_or(false);
    let running = state["running"].as_bool().unwrap_or(false);
    let name = display(&channel);
    match (action.as_str(), configured, running) {
        ("start", _, true) => error_200(&format!("{name} is already running")),
        ("start", false, _) => error_200(&format!("{name} is not configured — save tokens first")),
        ("stop", _, false) => error_200(&format!("{name} is not running")),
        (action, _, _) => {
            let now_running = action == "start";
            panels.channels_running.insert(channel.clone(), now_running);
            ok(&json!({"channel": channel, "configured": configured, "running": now_running}))
        }
    }
}

/// A webhook as the list shows it: the secret masked, the URL from the Host header.
fn webhook_json(w: &WebhookSpec, host: &str) -> Value {
    let tail: String = w
        .secret
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    json!({
        "name": w.name,
        "description": w.description,
        "secret": format!("***{tail}"),
        "sync_timeout": w.sync_timeout,
        "url": format!("http://{host}/webhook/inbound/{}", w.name),
    })
}

fn list_webhooks(req: &Req) -> Reply {
    let panels = req.app.panels.lock();
    let listed: Vec<Value> = panels
        .webhooks(req.data)
        .iter()
        .map(|w| webhook_json(w, req.host))
        .collect();
    ok(&json!({"webhooks": listed}))
}

/// A fresh secret, as long as the real backend's (`secrets.token_urlsafe(32)`).
fn new_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        &uuid::Uuid::new_v4().simple().to_string()[..11]
    )
}

/// The `name` of a webhook body, or the 400 for a missing one.
fn webhook_name(req: &Req) -> Result<String, Box<Reply>> {
    let body = req.json()?;
    match Req::field(&body, "name").map(|n| n.trim().to_owned()) {
        Some(n) if !n.is_empty() => Ok(n),
        _ => Err(Box::new(detail(
            StatusCode::BAD_REQUEST,
            "Webhook name is required",
        ))),
    }
}

fn add_webhook(req: &Req) -> Reply {
    let name = match webhook_name(req) {
        Ok(n) => n,
        Err(bad) => return *bad,
    };
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return detail(
            StatusCode::BAD_REQUEST,
            "Webhook name may contain only letters, digits, - and _",
        );
    }
    let description = req
        .json()
        .ok()
        .and_then(|b| Req::field(&b, "description"))
        .unwrap_or_default();
    let mut panels = req.app.panels.lock();
    let hooks = panels.webhooks_mut(req.data);
    if hooks.len() >= MAX_ITEMS {
        return detail(
            StatusCode::BAD_REQUEST,
            &format!("pawmock keeps at most {MAX_ITEMS} webhooks; remove some first"),
        );
    }
    if hooks.iter().any(|w| w.name == name) {
        return detail(
            StatusCode::CONFLICT,
            &format!("Webhook '{name}' already exists"),
        );
    }
    let hook = WebhookSpec {
        name,
        description,
        secret: new_secret(),
        sync_timeout: 30,
    };
    hooks.push(hook.clone());
    ok(&json!({"status": "ok", "webhook": hook}))
}

fn remove_webhook(req: &Req) -> Reply {
    let name = match webhook_name(req) {
        Ok(n) => n,
        Err(bad) => return *bad,
    };
    let mut panels = req.app.panels.lock();
    let hooks = panels.webhooks_mut(req.data);
    let before = hooks.len();
    hooks.retain(|w| w.name != name);
    if hooks.len() == before {
        return detail(
            StatusCode::NOT_FOUND,
            &format!("Webhook '{name}' not found"),
        );
    }
    ok(&json!({"status": "ok"}))
}

fn regenerate_secret(req: &Req) -> Reply {
    let name = match webhook_name(req) {
        Ok(n) => n,
        Err(bad) => return *bad,
    };
    let mut panels = req.app.panels.lock();
    match panels
        .webhooks_mut(req.data)
        .iter_mut()
        .find(|w| w.name == name)
    {
        Some(w) => {
            w.secret = new_secret();
            ok(&json!({"status": "ok", "secret": w.secret}))
        }
        None => detail(
            StatusCode::NOT_FOUND,
            &format!("Webhook '{name}' not found"),
        ),
    }
}
