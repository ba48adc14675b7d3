//! The page's files, compiled into the binary: `GET /__pawmock/` is the page,
//! `/__pawmock/inspector/{app.js,app.css}` its script and style.

use warp::Filter;
use warp::http::{Response, StatusCode};

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/app.css");

fn asset(content_type: &str, body: &'static str) -> Response<Vec<u8>> {
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", content_type)
        // The assets change with the binary only; a restart after an upgrade must not
        // be served a stale script.
        .header("cache-control", "no-cache")
        .body(body.as_bytes().to_vec())
        .unwrap_or_default()
}

pub(super) fn route() -> impl Filter<Extract = (Response<Vec<u8>>,), Error = warp::Rejection> + Clone
{
    let page = warp::path("__pawmock")
        .and(warp::path::end())
        .map(|| asset("text/html; charset=utf-8", INDEX));
    let file =
        warp::path!("__pawmock" / "inspector" / String).and_then(|name: String| async move {
            match name.as_str() {
                "app.js" => Ok(asset("text/javascript; charset=utf-8", SCRIPT)),
                "app.css" => Ok(asset("text/css; charset=utf-8", STYLE)),
                _ => Err(warp::reject::not_found()),
            }
        });
    warp::get().and(page.or(file).unify())
}
