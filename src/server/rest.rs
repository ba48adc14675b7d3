//! The `/api/...` calls the PocketPaw dashboard makes at load, after every answer and
//! when its modals open, answered from the session store and the canned backend data.
//!
//! One filter takes every `/api` request and [`handle`] dispatches on (method, path):
//! a plain function of the request, so each endpoint is one match arm and one small
//! function. Any other `/api` path is a JSON 404 that names it. Nothing here answers
//! 401 or 403: the dashboard logs the user out on those.

use std::sync::Arc;

use bytes::{Buf, Bytes};
use serde_json::{Value, json};
use tracing::debug;
use warp::Filter;
use warp::http::{Method, Response, StatusCode};

use super::body::BodyError;
use crate::app::App;
use crate::backend::{BackendData, Ctx, health, skills};
use crate::sessions::Session;
use crate::timestamp::iso8601;

mod channels;
mod export;
mod health_api;
mod identity;
mod mcp_skills;
mod mission_control;
mod qr;
mod remote;
mod system;

pub(crate) type Reply = Response<Vec<u8>>;

/// One `/api` request as the endpoint families read it.
pub(crate) struct Req<'a> {
    pub(crate) app: &'a App,
    pub(crate) data: &'a BackendData,
    pub(crate) method: &'a Method,
    /// The path's segments after `api`, percent-decoded.
    pub(crate) path: &'a [&'a str],
    params: &'a [(String, String)],
    pub(crate) body: &'a [u8],
    /// The `Host` header, for the URLs the real backend builds from it.
    pub(crate) host: &'a str,
}

impl Req<'_> {
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as a JSON object, or the 400 that says it is not one.
    pub(crate) fn json(&self) -> Result<serde_json::Map<String, Value>, Box<Reply>> {
        match serde_json::from_slice::<Value>(self.body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(other) => Err(Box::new(detail(
                StatusCode::BAD_REQUEST,
                &format!("Invalid JSON body: expected an object, got {other}"),
            ))),
            Err(e) => Err(Box::new(detail(
                StatusCode::BAD_REQUEST,
                &format!("Invalid JSON body: {e}"),
            ))),
        }
    }

    /// A string field of the JSON body (`None` for a missing or non-string field).
    pub(crate) fn field(body: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
        body.get(key).and_then(Value::as_str).map(str::to_owned)
    }
}

/// How many sessions `GET /api/sessions` lists without `?limit=` (the dashboard sends 100).
const DEFAULT_LIMIT: usize = 100;

/// The largest request body an `/api` call may announce.
const MAX_BODY: u64 = 64 * 1024;

/// Rejection for a body over [`MAX_BODY`], answered by [`too_large`].
#[derive(Debug)]
struct BodyTooLarge;
impl warp::reject::Reject for BodyTooLarge {}

/// Rejection for a body whose reading failed (the client went away mid-body).
#[derive(Debug)]
struct BodyUnreadable;
impl warp::reject::Reject for BodyUnreadable {}

/// Answers [`BodyTooLarge`] with a 413 naming the limit and [`BodyUnreadable`] with a
/// 400; other rejections go on.
pub(crate) async fn too_large(r: warp::Rejection) -> Result<Reply, warp::Rejection> {
    if r.find::<BodyTooLarge>().is_some() {
        Ok(json_reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            &serde_json::json!({"detail": format!("request body over {MAX_BODY} bytes")}),
        ))
    } else if r.find::<BodyUnreadable>().is_some() {
        Ok(json_reply(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({"detail": "the request body could not be read"}),
        ))
    } else {
        Err(r)
    }
}

/// Every request under `/api`.
pub(crate) fn route(
    app: Arc<App>,
) -> impl Filter<Extract = (Reply,), Error = warp::Rejection> + Clone {
    warp::path("api")
        .and(warp::method())
        .and(warp::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        // Bodies are small JSON (a title): one announced as larger is refused before it
        // is read. (warp's content_length_limit would also refuse bodiless GETs.)
        .and(warp::header::optional::<u64>("content-length"))
        .and_then(|method, path, query, length: Option<u64>| async move {
            match length {
                Some(n) if n > MAX_BODY => Err(warp::reject::custom(BodyTooLarge)),
                _ => Ok((method, path, query)),
            }
        })
        .untuple_one()
        .and(warp::header::optional::<String>("host"))
        .and(bounded_body())
        .map(
            move |method: Method,
                  path: warp::path::FullPath,
                  query: String,
                  host: Option<String>,
                  body: Bytes| {
                let host = host.unwrap_or_else(|| "localhost:8000".to_owned());
                handle(&app, &method, path.as_str(), &query, &body, &host)
            },
        )
}

/// The request body, read up to [`MAX_BODY`]: a chunked body announces no length, so the
/// limit is kept while reading too, and a client streaming more is refused with 413.
fn bounded_body() -> impl Filter<Extract = (Bytes,), Error = warp::Rejection> + Copy {
    warp::body::stream().and_then(read_bounded)
}

async fn read_bounded<S, B>(stream: S) -> Result<Bytes, warp::Rejection>
where
    S: futures_util::Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    super::body::read_bounded(stream, MAX_BODY as usize)
        .await
        .map_err(|e| match e {
            BodyError::Unreadable => warp::reject::custom(BodyUnreadable),
            BodyError::TooLarge => warp::reject::custom(BodyTooLarge),
        })
}

/// Answers one `/api` request.
pub(crate) fn handle(
    app: &App,
    method: &Method,
    path: &str,
    query: &str,
    body: &[u8],
    host: &str,
) -> Reply {
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let library = app.library();
    let data = library.backend();
    let ctx = Ctx {
        data: &data,
        state: &app.backend,
        panels: &app.panels,
        now: std::time::SystemTime::now(),
    };
    match (method, segments.as_slice()) {
        (&Method::GET, ["api", "channels", "status"]) => {
            ok(&channels::status(&data, &app.panels.lock()))
        }
        (&Method::GET, ["api", "sessions"]) => list_sessions(app, param("limit")),
        (&Method::DELETE, ["api", "sessions", id]) => delete_session(app, id),
        (&Method::POST, ["api", "sessions", id, "title"]) => rename_session(app, id, body),
        (&Method::GET, ["api", "backends"]) => ok(&data.backends),
        (&Method::GET, ["api", "identity"]) => ok(&identity::current(&data, &app.panels.lock())),
        (&Method::GET, ["api", "version"]) => ok(&data.version),
        (&Method::GET, ["api", "memory", "session", "export"]) => export::export(
            param("id").and_then(|id| app.sessions.get(id)),
            param("id"),
            param("format"),
        ),
        (&Method::GET, ["api", "health"]) => ok(&health::summary(&ctx)),
        (&Method::GET, ["api", "health", "errors"]) => match param("limit").map(str::parse) {
            Some(Err(_)) => detail(
                StatusCode::UNPROCESSABLE_ENTITY,
                "limit must be a whole number",
            ),
            _ if app.panels.lock().health_errors_cleared => ok(&json!([])),
            limit => ok(&Value::from(health::errors(
                &ctx,
                limit.and_then(Result::ok).unwrap_or(20),
                param("search"),
            ))),
        },
        (&Method::GET, ["api", "skills"]) => {
            ok(&Value::from(skills::summaries(&skills::installed(&ctx))))
        }
        (&Method::GET, ["api", "memory", "long_term"]) => {
            ok(&identity::memories(&data, &app.panels.lock()))
        }
        (&Method::GET, ["api", "audit"]) if app.panels.lock().audit_cleared => ok(&json!([])),
        (&Method::GET, ["api", "audit"]) => ok(&data.audit),
        _ => {
            let req = Req {
                app,
                data: &data,
                method,
                path: segments.get(1..).unwrap_or_default(),
                params: &params,
                body,
                host,
            };
            family(&req).unwrap_or_else(|| {
                debug!(method = %method, path, "unknown /api call: 404");
                not_found()
            })
        }
    }
}

/// The endpoint families, each answering its own paths (`None`: not one of them).
fn family(req: &Req) -> Option<Reply> {
    channels::answer(req)
        .or_else(|| remote::answer(req))
        .or_else(|| mcp_skills::answer(req))
        .or_else(|| identity::answer(req))
        .or_else(|| health_api::answer(req))
        .or_else(|| system::answer(req))
        .or_else(|| mission_control::answer(req))
}

/// What the real server (FastAPI) answers for a path it does not have, byte for byte:
/// the dashboard reads the absence of an `error` key as success in places, so the body
/// must be exactly this. The endpoints pawmock answers are listed in the README.
fn not_found() -> Reply {
    detail(StatusCode::NOT_FOUND, "Not Found")
}

/// `{"sessions": [...], "total": n}`, most recent activity first; `total` counts all
/// sessions, `limit` only how many are listed.
fn list_sessions(app: &App, limit: Option<&str>) -> Reply {
    let limit = match limit.map(str::parse::<usize>) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            return detail(
                StatusCode::UNPROCESSABLE_ENTITY,
                "limit must be a whole number",
            );
        }
    };
    let all = app.sessions.list();
    let listed: Vec<Value> = all.iter().take(limit).map(session_json).collect();
    ok(&json!({"sessions": listed, "total": all.len()}))
}

/// One session as the sidebar reads it.
pub(crate) fn session_json(s: &Session) -> Value {
    let mut v = json!({
        "id": s.id,
        "title": s.display_title(),
        "channel": s.channel,
        "created": iso8601(s.created),
        "last_activity": iso8601(s.last_activity),
        "message_count": s.messages.len(),
        "preview": preview(s),
    });
    if let Some(t) = &s.user_title {
        v["user_title"] = Value::from(t.as_str());
    }
    v
}

/// The last message, on one line, shortened to 100 characters.
fn preview(s: &Session) -> String {
    let text = s.messages.last().map_or("", |m| m.content.as_str());
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= 100 {
        line
    } else {
        format!("{}…", line.chars().take(99).collect::<String>())
    }
}

fn delete_session(app: &App, id: &str) -> Reply {
    if app.sessions.delete(id) {
        ok(&json!({"status": "ok"}))
    } else {
        detail(StatusCode::NOT_FOUND, "Session not found")
    }
}

fn rename_session(app: &App, id: &str, body: &[u8]) -> Reply {
    let title = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("title")
                .and_then(Value::as_str)
                .map(str::trim)
                .map(str::to_owned)
        })
        .filter(|t| !t.is_empty());
    let Some(title) = title else {
        return detail(
            StatusCode::BAD_REQUEST,
            "Title is required: send {\"title\": \"…\"}",
        );
    };
    if app.sessions.rename(id, &title) {
        ok(&json!({"status": "ok"}))
    } else {
        detail(StatusCode::NOT_FOUND, "Session not found")
    }
}

/// A failure the real backend reports as HTTP 200 with `{"error": "..."}`.
fn error_200(message: &str) -> Reply {
    ok(&json!({"error": message}))
}

fn ok(value: &Value) -> Reply {
    json_reply(StatusCode::OK, value)
}

/// An error in FastAPI's shape, `{"detail": "..."}`, which the dashboard shows as is.
fn detail(status: StatusCode, message: &str) -> Reply {
    json_reply(status, &json!({"detail": message}))
}

fn json_reply(status: StatusCode, value: &Value) -> Reply {
    let mut r = Response::new(serde_json::to_vec(value).unwrap_or_default());
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        warp::http::HeaderValue::from_static("application/json"),
    );
    r
}
