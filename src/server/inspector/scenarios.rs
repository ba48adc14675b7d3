//! `GET /__pawmock/inspector/scenarios`: every scenario and recording with its title,
//! markers and URL, the chaos profiles, and the problems of files that did not load.

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::{Value, json};
use warp::Filter;
use warp::http::{Response, StatusCode};

use crate::app::App;
use crate::control::auth::Verdict;
use crate::library::Scenario;
use crate::library::scenario::ScenarioKind;

pub(super) fn route(
    app: Arc<App>,
) -> impl Filter<Extract = (Response<Vec<u8>>,), Error = warp::Rejection> + Clone {
    warp::get()
        .and(warp::path!("__pawmock" / "inspector" / "scenarios"))
        .and(crate::server::peer::remote())
        .and(warp::header::optional::<String>("authorization"))
        .map(move |peer: Option<SocketAddr>, auth: Option<String>| {
            // The same rule as the control API (the listing names every file).
            let (status, body) = match app.control.access.allows(peer, auth.as_deref()) {
                Verdict::Allowed => (StatusCode::OK, listing(&app)),
                Verdict::Hidden => (
                    if app.control.access == crate::control::Access::Off {
                        StatusCode::NOT_FOUND
                    } else {
                        StatusCode::FORBIDDEN
                    },
                    super::refusal(&app, false),
                ),
                Verdict::Unauthorized => (StatusCode::UNAUTHORIZED, super::refusal(&app, true)),
            };
            Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .header("cache-control", "no-store")
                .body(body.to_string().into_bytes())
                .unwrap_or_default()
        })
}

/// The listing as JSON (also sent by the live feed on every reload).
pub(crate) fn listing(app: &App) -> Value {
    let library = app.library();
    let scenarios: Vec<Value> = library.scenarios().iter().map(|s| scenario(s)).collect();
    let chaos: Vec<Value> = library
        .chaos_profiles()
        .map(|p| json!({"name": p.name, "description": p.description}))
        .collect();
    let problems: Vec<Value> = app
        .inspector
        .problems()
        .iter()
        .map(|p| {
            json!({
                "file": p.file.display().to_string(),
                "line": p.line,
                "column": p.column,
                "path": p.path.to_string(),
                "message": p.message,
                "hint": p.hint,
                "text": p.to_string(),
            })
        })
        .collect();
    json!({"scenarios": scenarios, "chaos_profiles": chaos, "problems": problems})
}

fn scenario(s: &Scenario) -> Value {
    json!({
        "name": s.name,
        "title": s.title,
        "description": s.description,
        "kind": match s.kind {
            ScenarioKind::Scripted => "scenario",
            ScenarioKind::Recorded => "recording",
            ScenarioKind::Raw => "raw recording",
        },
        "file": s.file.display().to_string(),
        "turns": s.turns.len(),
        "markers": s.markers(),
        "on_connect": !s.on_connect.is_empty(),
        "chaos": s.chaos.iter().map(|f| f.name()).collect::<Vec<_>>(),
        "path_and_query": format!("/ws?scenario={}", encode(&s.name)),
    })
}

/// A scenario name as a query value (names are paths: `a/b` stays readable).
fn encode(name: &str) -> String {
    percent_encoding::utf8_percent_encode(name, QUERY).to_string()
}

const QUERY: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
