//! `GET /__pawmock/inspector/scenarios`: every scenario and recording with its title,
//! markers and URL, the chaos profiles, and the problems of files that did not load.

use std::sync::Arc;

use serde_json::{Value, json};
use warp::Filter;
use warp::http::{Response, StatusCode};

use crate::app::App;
use crate::library::Scenario;
use crate::library::scenario::{Body, ScenarioKind, Step, StepKind};
use crate::protocol::Event;

pub(super) fn route(
    app: Arc<App>,
) -> impl Filter<Extract = (Response<Vec<u8>>,), Error = warp::Rejection> + Clone {
    warp::get()
        .and(warp::path!("__pawmock" / "inspector" / "scenarios"))
        .map(move || {
            Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .header("cache-control", "no-store")
                .body(listing(&app).to_string().into_bytes())
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
    let mut markers = Vec::new();
    for turn in &s.turns {
        markers_of_body(&turn.body, &mut markers);
    }
    markers.dedup();
    json!({
        "name": s.name,
        "title": s.title,
        "description": s.description,
        "kind": match s.kind {
            ScenarioKind::Scripted => "scenario",
            ScenarioKind::Recorded => "recording",
        },
        "file": s.file.display().to_string(),
        "turns": s.turns.len(),
        "markers": markers,
        "chaos": s.chaos.iter().map(|f| f.name()).collect::<Vec<_>>(),
        "path_and_query": format!("/ws?scenario={}", encode(&s.name)),
    })
}

fn markers_of_body(body: &Body, out: &mut Vec<String>) {
    match body {
        Body::Script(steps) => markers_of_steps(steps, out),
        Body::Recorded(frames) => {
            for (_, event) in frames {
                if let Event::Marker { name } = event {
                    out.push(name.clone());
                }
            }
        }
    }
}

fn markers_of_steps(steps: &[Step], out: &mut Vec<String>) {
    for step in steps {
        match &step.kind {
            StepKind::Marker(name) => out.push(name.clone()),
            StepKind::Plan(plan) => {
                markers_of_steps(&plan.approve, out);
                markers_of_steps(&plan.reject, out);
                markers_of_steps(&plan.timeout, out);
            }
            _ => {}
        }
    }
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
