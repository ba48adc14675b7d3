//! `get_health`, `run_health_check` and `get_health_errors`, and the same data for
//! `GET /api/health` and `GET /api/health/errors`.

use serde_json::{Map, Value, json};

use super::Ctx;
use crate::timestamp::iso8601;

/// The health engine's summary: `last_check` is `null` until a check is run.
pub(crate) fn summary(ctx: &Ctx) -> Value {
    let h = &ctx.data.health;
    json!({
        "status": h.status,
        "check_count": h.check_count,
        "issues": h.issues,
        "last_check": ctx.state.last_health_check().map(iso8601),
    })
}

pub(crate) fn get(ctx: &Ctx) -> Vec<Value> {
    vec![json!({"type": "health_update", "data": summary(ctx)})]
}

pub(crate) fn run_check(ctx: &Ctx) -> Vec<Value> {
    ctx.state.record_health_check(ctx.now);
    get(ctx)
}

/// The error log, newest first: at most `limit` entries whose JSON text contains
/// `search` (ignoring case).
pub(crate) fn errors(ctx: &Ctx, limit: usize, search: Option<&str>) -> Vec<Value> {
    let search = search.map(str::to_lowercase).filter(|s| !s.is_empty());
    ctx.data
        .health
        .errors
        .iter()
        .filter(|e| {
            search
                .as_deref()
                .is_none_or(|s| e.to_string().to_lowercase().contains(s))
        })
        .take(limit)
        .cloned()
        .collect()
}

/// The reply to `get_health_errors` (which the dashboard never sends; it uses REST).
pub(crate) fn errors_frame(ctx: &Ctx, frame: &Map<String, Value>) -> Vec<Value> {
    let limit = frame
        .get("limit")
        .and_then(Value::as_u64)
        .map_or(20, |n| n as usize);
    let search = frame.get("search").and_then(Value::as_str);
    vec![json!({"type": "health_errors", "errors": errors(ctx, limit, search)})]
}
