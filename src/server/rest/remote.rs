//! Auth, QR, tunnel and Telegram pairing (addendum B.1, B.6): the "Take Your Paw With
//! You" modal and the login overlay.
//!
//! pawmock has no accounts: every token is accepted, and nothing here answers 401 or
//! 403, because the dashboard logs the user out on either.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::{Value, json};
use warp::http::{Method, Response, StatusCode};

use super::{Reply, Req, detail, error_200, ok, qr};

pub(super) fn answer(req: &Req) -> Option<Reply> {
    Some(match (req.method, req.path) {
        (&Method::GET, ["qr"]) => qr_image(req),
        (&Method::POST, ["auth", "session"]) => ok(&json!({
            "session_token": session_token(24 * 3600),
            "expires_in_hours": 24,
        })),
        (&Method::POST, ["auth", "login"]) => login(req),
        (&Method::POST, ["auth", "logout"]) => {
            let mut r = ok(&json!({"ok": true}));
            r.headers_mut().insert(
                "set-cookie",
                warp::http::HeaderValue::from_static(
                    "pocketpaw_session=\"\"; HttpOnly; Max-Age=0; Path=/; SameSite=lax",
                ),
            );
            r
        }
        (&Method::POST, ["token", "regenerate"]) => {
            let token = hex(32);
            req.app.panels.lock().token = Some(token.clone());
            ok(&json!({"token": token}))
        }
        (&Method::GET, ["remote", "status"]) => ok(&remote_status(req)),
        (&Method::POST, ["remote", "start"]) => {
            let url = req.data.tunnel_url.clone();
            req.app.panels.lock().tunnel = Some(url.clone());
            ok(&json!({"url": url, "active": true}))
        }
        (&Method::POST, ["remote", "stop"]) => {
            req.app.panels.lock().tunnel = None;
            ok(&json!({"active": false}))
        }
        (&Method::GET, ["telegram", "status"]) => {
            let set_up = req.app.panels.lock().telegram_set_up;
            ok(&json!({"configured": set_up, "user_id": set_up.then_some(TELEGRAM_USER)}))
        }
        (&Method::POST, ["telegram", "setup"]) => telegram_setup(req),
        (&Method::GET, ["telegram", "pairing-status"]) => {
            let set_up = req.app.panels.lock().telegram_set_up;
            ok(&json!({"paired": set_up, "user_id": set_up.then_some(TELEGRAM_USER)}))
        }
        _ => return None,
    })
}

/// The Telegram user a pairing reports.
const TELEGRAM_USER: u64 = 123_456_789;

/// `n` random bytes as hex.
fn hex(n: usize) -> String {
    let mut s = String::new();
    while s.len() < 2 * n {
        s.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    s.truncate(2 * n);
    s
}

/// A session token in the real backend's form, `<expiry unix time>:<64 hex>`.
fn session_token(ttl_secs: u64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{}:{}", now + ttl_secs, hex(32))
}

fn remote_status(req: &Req) -> Value {
    let mut status = req.data.remote_status.clone();
    let tunnel = req.app.panels.lock().tunnel.clone();
    if let Value::Object(map) = &mut status {
        map.insert("active".into(), Value::Bool(tunnel.is_some()));
        map.insert("url".into(), tunnel.map_or(Value::Null, Value::from));
        map.entry("installed").or_insert(Value::Bool(true));
    }
    status
}

/// The PNG the remote modal shows: the page URL with a one-hour token; the tunnel's
/// URL while a tunnel runs, `https` for a trycloudflare host as the real backend does.
fn qr_image(req: &Req) -> Reply {
    let tunnel = req.app.panels.lock().tunnel.clone();
    let base = match tunnel {
        Some(url) => url,
        None if req.host.contains("trycloudflare") => format!("https://{}", req.host),
        None => format!("http://{}", req.host),
    };
    let url = format!(
        "{}/?token={}",
        base.trim_end_matches('/'),
        session_token(3600)
    );
    match qr::png(&url) {
        Ok(bytes) => Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "image/png")
            .header("cache-control", "no-store")
            .body(bytes)
            .unwrap_or_else(|_| detail(StatusCode::INTERNAL_SERVER_ERROR, "bad response")),
        Err(e) => detail(StatusCode::INTERNAL_SERVER_ERROR, &e),
    }
}

fn login(req: &Req) -> Reply {
    let Ok(body) = req.json() else {
        return detail(StatusCode::BAD_REQUEST, "Invalid JSON body");
    };
    match Req::field(&body, "token") {
        // Any token is good: pawmock has no accounts. A missing one is the real
        // backend's "Invalid access token", with 400 rather than its 401 (see above).
        Some(t) if !t.trim().is_empty() => {
            let mut r = ok(&json!({"ok": true}));
            let cookie = format!(
                "pocketpaw_session={}; HttpOnly; Max-Age=86400; Path=/; SameSite=lax",
                session_token(24 * 3600)
            );
            if let Ok(v) = warp::http::HeaderValue::from_str(&cookie) {
                r.headers_mut().insert("set-cookie", v);
            }
            r
        }
        _ => detail(StatusCode::BAD_REQUEST, "Invalid access token"),
    }
}

fn telegram_setup(req: &Req) -> Reply {
    let body = match req.json() {
        Ok(b) => b,
        Err(bad) => return *bad,
    };
    let token = Req::field(&body, "bot_token").unwrap_or_default();
    if !token.contains(':') {
        return error_200("Invalid bot token: it looks like 123456789:AA…, from @BotFather");
    }
    let link = format!("https://t.me/pawmock_bot?start={}", hex(8));
    let png = match qr::png(&link) {
        Ok(p) => p,
        Err(e) => return error_200(&e),
    };
    req.app.panels.lock().telegram_set_up = true;
    ok(&json!({
        "qr_url": format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(png)
        ),
        "deep_link": link,
    }))
}
