//! Agent backends and the restart button (addendum B.6).

use serde_json::{Value, json};
use warp::http::{Method, StatusCode};

use super::{Reply, Req, error_200, json_reply, ok};

pub(super) fn answer(req: &Req) -> Option<Reply> {
    Some(match (req.method, req.path) {
        (&Method::POST, ["backends", "install"]) => install(req),
        (&Method::POST, ["system", "restart"]) => match req.json() {
            Err(bad) => *bad,
            Ok(body) if body.get("confirm") == Some(&Value::Bool(true)) => {
                ok(&json!({"restarting": true}))
            }
            Ok(_) => json_reply(
                StatusCode::BAD_REQUEST,
                &json!({"error": "Send {\"confirm\": true} to restart"}),
            ),
        },
        _ => return None,
    })
}

fn install(req: &Req) -> Reply {
    let body = match req.json() {
        Ok(b) => b,
        Err(bad) => return *bad,
    };
    let name = Req::field(&body, "backend").unwrap_or_default();
    let known = req.data.backends.as_array().is_some_and(|all| {
        all.iter()
            .any(|b| b["name"].as_str() == Some(name.as_str()))
    });
    if known {
        ok(&json!({"status": "ok"}))
    } else {
        error_200(&format!("Unknown backend: {name}"))
    }
}
