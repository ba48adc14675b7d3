//! Health (addendum B.5): the check button and the error log's Clear.

use serde_json::{Value, json};
use warp::http::Method;

use super::{Reply, Req, ok};
use crate::app::Push;
use crate::backend::{Ctx, health};

pub(super) fn answer(req: &Req) -> Option<Reply> {
    Some(match (req.method, req.path) {
        (&Method::POST, ["health", "check"]) => check(req),
        (&Method::DELETE, ["health", "errors"]) => {
            req.app.panels.lock().health_errors_cleared = true;
            ok(&json!({"cleared": true}))
        }
        _ => return None,
    })
}

/// Runs the checks: the summary (with `last_check` now) is the reply, and every
/// dashboard connection gets it as `health_update`, as the real backend pushes it to
/// every socket.
fn check(req: &Req) -> Reply {
    let ctx = Ctx {
        data: req.data,
        state: &req.app.backend,
        panels: &req.app.panels,
        now: std::time::SystemTime::now(),
    };
    let frames = health::run_check(&ctx);
    let summary = frames
        .first()
        .map(|f| f["data"].clone())
        .unwrap_or(Value::Null);
    let push: Push = frames.iter().map(Value::to_string).collect();
    // No listener is no error: the check ran.
    let _ = req.app.pushes.send(push);
    ok(&summary)
}
