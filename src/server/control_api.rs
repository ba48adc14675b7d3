//! The `/__pawmock/…` routes: one filter takes every request under the prefix (except
//! the bare `/__pawmock/`, left to the inspector page) and [`handle`] dispatches on
//! (method, path), as `server/rest.rs` does for `/api`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use warp::Filter;
use warp::http::{Method, Response, StatusCode};

use super::body::BodyError;
use crate::app::App;
use crate::control::auth::Verdict;
use crate::control::commands::{self, Envelope};
use crate::control::registry::{ConnState, Live, NotQueued};
use crate::control::{ApiError, summary};

pub(crate) type Reply = Response<Vec<u8>>;

/// The largest request body accepted.
const MAX_BODY: usize = 64 * 1024;
/// How long the API waits for a connection to take a command.
const COMMAND_PATIENCE: Duration = Duration::from_secs(5);
/// The longest `POST /__pawmock/wait` may wait.
const MAX_WAIT: Duration = Duration::from_secs(300);

const ROUTES: &str = "GET /__pawmock/connections[?run=], GET /__pawmock/connections/{id}, \
POST /__pawmock/connections/{id}/{pause|resume|step|speed|fault|send|close}, \
POST /__pawmock/connections/{action}?run=LABEL, POST /__pawmock/wait, \
GET|DELETE /__pawmock/journal[?run=&since=], GET /__pawmock/journal/summary[?run=], POST /__pawmock/reset";

/// Every request under `/__pawmock/` with something after the prefix.
pub(crate) fn route(
    app: Arc<App>,
) -> impl Filter<Extract = (Reply,), Error = warp::Rejection> + Clone {
    warp::path("__pawmock")
        .and(warp::path::tail())
        .and_then(|tail: warp::path::Tail| async move {
            if tail.as_str().trim_matches('/').is_empty() {
                Err(warp::reject::not_found())
            } else {
                Ok(tail.as_str().to_owned())
            }
        })
        .and(warp::method())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(crate::server::peer::remote())
        .and(warp::header::optional::<String>("authorization"))
        .and(warp::body::stream().and_then(read_bounded))
        .then(
            move |tail: String,
                  method: Method,
                  query: String,
                  peer: Option<SocketAddr>,
                  auth: Option<String>,
                  body: Result<Bytes, ApiError>| {
                let app = app.clone();
                async move {
                    let answer = match app.control.access.allows(peer, auth.as_deref()) {
                        Verdict::Hidden => Err(hidden(&app)),
                        Verdict::Unauthorized => Err(ApiError::new(
                            401,
                            "the control API needs the admin token",
                            "send the --admin-token value as `Authorization: Bearer TOKEN`",
                        )),
                        Verdict::Allowed => match body {
                            Ok(body) => handle(&app, &method, &tail, &query, &body).await,
                            Err(e) => Err(e),
                        },
                    };
                    match answer {
                        Ok((status, value)) => json_reply(status, &value),
                        Err(e) => json_reply(e.status, &json!(e)),
                    }
                }
            },
        )
}

fn hidden(app: &App) -> ApiError {
    match app.control.access {
        crate::control::Access::Off => ApiError::not_found(
            "the control API is off",
            "it is off with --no-admin, and with a --host beyond loopback unless --admin-token is set",
        ),
        _ => ApiError::new(
            403,
            "the control API answers loopback clients only",
            "call it from this machine, or start pawmock with --admin-token TOKEN",
        ),
    }
}

async fn read_bounded<S, B>(stream: S) -> Result<Result<Bytes, ApiError>, warp::Rejection>
where
    S: futures_util::Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    Ok(super::body::read_bounded(stream, MAX_BODY)
        .await
        .map_err(|e| match e {
            BodyError::Unreadable => {
                ApiError::bad_request("the request body could not be read", "send the whole body")
            }
            BodyError::TooLarge => ApiError::new(
                413,
                format!("the request body is over {MAX_BODY} bytes"),
                "control requests are small JSON documents",
            ),
        }))
}

fn json_reply(status: u16, value: &Value) -> Reply {
    let mut r = Response::new(serde_json::to_vec(value).unwrap_or_default());
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    r.headers_mut().insert(
        "content-type",
        warp::http::HeaderValue::from_static("application/json"),
    );
    r
}

type Answer = Result<(u16, Value), ApiError>;

/// The query's parameters; any name not in `known` is refused.
fn query_params(query: &str, known: &[&str]) -> Result<Vec<(String, String)>, ApiError> {
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    if let Some((k, _)) = params.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        return Err(ApiError::bad_request(
            format!("unknown query parameter `{k}`"),
            if known.is_empty() {
                "this route takes no query parameters".to_owned()
            } else {
                format!("this route takes: {}", known.join(", "))
            },
        ));
    }
    Ok(params)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Answers one request under `/__pawmock/` (`tail` is the path after it).
pub(crate) async fn handle(
    app: &Arc<App>,
    method: &Method,
    tail: &str,
    query: &str,
    body: &[u8],
) -> Answer {
    let segments: Vec<&str> = tail.split('/').filter(|s| !s.is_empty()).collect();
    match (method, segments.as_slice()) {
        (&Method::GET, ["connections"]) => {
            let params = query_params(query, &["run"])?;
            let list: Vec<Value> = app
                .control
                .registry
                .list(param(&params, "run"))
                .iter()
                .map(|c| c.to_json())
                .collect();
            Ok((200, Value::Array(list)))
        }
        (&Method::GET, ["connections", id]) => {
            query_params(query, &[])?;
            Ok((200, find(app, id)?.to_json()))
        }
        (&Method::POST, ["connections", id, action]) => {
            query_params(query, &[])?;
            let live = find(app, id)?;
            let command = commands::parse(action, body)?;
            let answer = send_command(&live, command).await?;
            Ok((200, answer))
        }
        (&Method::POST, ["connections", action]) => {
            let params = query_params(query, &["run"])?;
            let Some(run) = param(&params, "run") else {
                return Err(ApiError::bad_request(
                    format!(
                        "POST /__pawmock/connections/{action} acts on a run and needs ?run=LABEL"
                    ),
                    format!("POST /__pawmock/connections/{{id}}/{action} acts on one connection"),
                ));
            };
            // Validated once before anything is sent, so bad input changes nothing.
            commands::parse(action, body)?;
            let mut results = Vec::new();
            for live in app.control.registry.list(Some(run)) {
                let command = commands::parse(action, body)?;
                let result = match send_command(&live, command).await {
                    Ok(v) => v,
                    Err(e) => json!({"id": live.id, "error": e.error, "hint": e.hint}),
                };
                results.push(result);
            }
            Ok((200, json!({"run": run, "connections": results})))
        }
        (&Method::POST, ["wait"]) => {
            query_params(query, &[])?;
            wait(app, body).await
        }
        (&Method::GET, ["journal"]) => {
            let params = query_params(query, &["run", "since"])?;
            let since = match param(&params, "since") {
                None => 0,
                Some(s) => s.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(
                        format!("?since={s} is not a sequence number"),
                        "pass the `next_seq` of the previous answer, e.g. ?since=42",
                    )
                })?,
            };
            let page = app.control.journal.page(param(&params, "run"), since);
            Ok((200, serde_json::to_value(page).unwrap_or_default()))
        }
        (&Method::DELETE, ["journal"]) => {
            query_params(query, &[])?;
            app.control.journal.clear();
            Ok((200, json!({"cleared": true})))
        }
        (&Method::GET, ["journal", "summary"]) => {
            let params = query_params(query, &["run"])?;
            let page = app.control.journal.page(None, 0);
            let runs = summary::summarize(&page.entries);
            let complete = page.dropped == 0;
            match param(&params, "run") {
                Some(run) => {
                    let s = runs
                        .into_iter()
                        .find(|s| s.run.as_deref() == Some(run))
                        .unwrap_or_else(|| summary::RunSummary {
                            run: Some(run.to_owned()),
                            ..Default::default()
                        });
                    let mut v = serde_json::to_value(s).unwrap_or_default();
                    v["complete"] = json!(complete);
                    Ok((200, v))
                }
                None => Ok((200, json!({"runs": runs, "complete": complete}))),
            }
        }
        (&Method::POST, ["reset"]) => {
            query_params(query, &[])?;
            reset(app, body)
        }
        (
            _,
            ["connections"]
            | ["connections", _]
            | ["connections", _, _]
            | ["wait"]
            | ["journal"]
            | ["journal", "summary"]
            | ["reset"],
        ) => Err(ApiError::new(
            405,
            format!("{method} is not answered at /__pawmock/{tail}"),
            format!("the routes are: {ROUTES}"),
        )),
        _ => Err(ApiError::not_found(
            format!("no control route /__pawmock/{tail}"),
            format!("the routes are: {ROUTES}"),
        )),
    }
}

fn find(app: &App, id: &str) -> Result<Arc<Live>, ApiError> {
    app.control.registry.get(id).ok_or_else(|| {
        ApiError::not_found(
            format!("no live connection `{id}`"),
            "GET /__pawmock/connections lists the live ones (ids are the log's conn= values, e.g. c3)",
        )
    })
}

/// Hands a command to a connection and waits for its answer.
async fn send_command(live: &Live, command: commands::Command) -> Result<Value, ApiError> {
    let (reply, answer) = oneshot::channel();
    live.command(Envelope { command, reply })
        .map_err(|e| match e {
            NotQueued::Busy => ApiError::new(
                429,
                format!("connection {} has too many commands queued", live.id),
                "wait for the earlier commands' answers",
            ),
            NotQueued::Gone => gone(live),
        })?;
    match tokio::time::timeout(COMMAND_PATIENCE, answer).await {
        Ok(Ok(result)) => result.map(|mut v| {
            v["id"] = json!(live.id);
            v
        }),
        Ok(Err(_)) => Err(gone(live)),
        Err(_) => Err(ApiError::new(
            408,
            format!("connection {} did not take the command within 5s", live.id),
            "its client may have stopped reading; try again or close it",
        )),
    }
}

fn gone(live: &Live) -> ApiError {
    ApiError::not_found(
        format!("connection {} closed", live.id),
        "GET /__pawmock/connections lists the live ones",
    )
}

fn json_body(body: &[u8], hint: &str) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the request body is not JSON: {e}"), hint))
}

/// `POST /__pawmock/wait {"run", "state", "timeout"}`: answers with the first connection
/// of the run in that state, or 408 when the timeout passes first.
async fn wait(app: &App, body: &[u8]) -> Answer {
    let hint = r#"send {"run": "LABEL", "state": "frozen", "timeout": "5s"}; state is idle, playing, paused or frozen"#;
    let v = json_body(body, hint)?;
    let Some(obj) = v.as_object() else {
        return Err(ApiError::bad_request(
            "the body must be a JSON object",
            hint,
        ));
    };
    if let Some(k) = obj
        .keys()
        .find(|k| !["run", "state", "timeout"].contains(&k.as_str()))
    {
        return Err(ApiError::bad_request(format!("unknown field `{k}`"), hint));
    }
    let run = match obj.get("run") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) => Some(r.clone()),
        Some(other) => {
            return Err(ApiError::bad_request(
                format!("`run` must be text, got {other}"),
                hint,
            ));
        }
    };
    let state = match obj.get("state") {
        Some(Value::String(s)) => ConnState::parse(s)
            .ok_or_else(|| ApiError::bad_request(format!("`{s}` is not a state"), hint))?,
        None => return Err(ApiError::bad_request("the body has no `state`", hint)),
        Some(other) => {
            return Err(ApiError::bad_request(
                format!("`state` must be text, got {other}"),
                hint,
            ));
        }
    };
    let timeout = match obj.get("timeout") {
        None | Some(Value::Null) => Duration::from_secs(5),
        Some(Value::String(s)) => crate::located::duration::parse(s)
            .map_err(|e| ApiError::bad_request(format!("`timeout`: {e}"), hint))?,
        Some(Value::Number(n)) => n
            .as_f64()
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .ok_or_else(|| {
                ApiError::bad_request(format!("`timeout` {n} is not a duration"), hint)
            })?,
        Some(other) => {
            return Err(ApiError::bad_request(
                format!("`timeout` cannot be {other}"),
                hint,
            ));
        }
    };
    if timeout > MAX_WAIT {
        return Err(ApiError::bad_request(
            format!("`timeout` is over {}s", MAX_WAIT.as_secs()),
            "wait at most 300s per request",
        ));
    }
    let deadline = tokio::time::Instant::now() + timeout;
    let mut changes = app.control.journal.subscribe();
    loop {
        changes.borrow_and_update();
        let found = app
            .control
            .registry
            .list(run.as_deref())
            .into_iter()
            .find(|c| c.state() == state);
        if let Some(c) = found {
            return Ok((200, c.to_json()));
        }
        tokio::select! {
            changed = changes.changed() => if changed.is_err() {
                return Err(ApiError::new(408, "the server is shutting down", "start it again"));
            },
            _ = tokio::time::sleep_until(deadline) => {
                return Err(ApiError::new(
                    408,
                    format!(
                        "no connection{} reached `{}` within {}",
                        run.as_deref().map(|r| format!(" of run `{r}`")).unwrap_or_default(),
                        state.name(),
                        humantime::format_duration(timeout)
                    ),
                    "check the URL's ?run= and ?freeze= and that the page sent its message; GET /__pawmock/connections shows each state",
                ));
            }
        }
    }
}

/// `POST /__pawmock/reset [{"close": true}]`.
fn reset(app: &Arc<App>, body: &[u8]) -> Answer {
    let hint = r#"send nothing, or {"close": true} to also close every connection"#;
    let v = json_body(body, hint)?;
    let close = match &v {
        Value::Null => false,
        Value::Object(o) => {
            if let Some(k) = o.keys().find(|k| k.as_str() != "close") {
                return Err(ApiError::bad_request(format!("unknown field `{k}`"), hint));
            }
            match o.get("close") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(other) => {
                    return Err(ApiError::bad_request(
                        format!("`close` must be true or false, got {other}"),
                        hint,
                    ));
                }
            }
        }
        other => {
            return Err(ApiError::bad_request(
                format!("the body cannot be {other}"),
                hint,
            ));
        }
    };
    let mut closed = Vec::new();
    if close {
        for live in app.control.registry.list(None) {
            let (reply, _) = oneshot::channel();
            let command = commands::Command::Close {
                code: 1012,
                reason: "pawmock reset".into(),
            };
            if live.command(Envelope { command, reply }).is_ok() {
                closed.push(live.id.clone());
            }
        }
    }
    app.sessions.reset(&app.library());
    app.attempts.clear();
    app.control.journal.clear();
    Ok((200, json!({"reset": true, "closed": closed})))
}
