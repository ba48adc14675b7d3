//! `GET /` without `--static`: a short page that says what is listening here, the
//! WebSocket URL to use and the scenarios, so a browser pointed at pawmock by mistake
//! (or on purpose) learns how to use it.

use std::sync::Arc;

use warp::Filter;
use warp::http::{Response, StatusCode};

use crate::app::App;

pub(crate) type Reply = Response<Vec<u8>>;

/// `GET /` when no frontend is served; rejected otherwise.
pub(crate) fn route(
    app: Arc<App>,
) -> impl Filter<Extract = (Reply,), Error = warp::Rejection> + Clone {
    warp::get()
        .and(warp::path::end())
        .and(warp::header::optional::<String>("host"))
        .and_then(move |host: Option<String>| {
            let app = app.clone();
            async move {
                if app.config.static_dir.is_some() {
                    return Err(warp::reject::not_found());
                }
                Ok(page(&app, host.as_deref().unwrap_or("localhost:8000")))
            }
        })
}

/// The page for a request that reached pawmock as `host`.
pub(crate) fn page(app: &App, host: &str) -> Reply {
    let library = app.library();
    let ws = format!("ws://{host}/ws");
    let mut rows = String::new();
    for s in library.scenarios() {
        let url = format!("{ws}?scenario={}", s.name);
        rows.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td><td><code>{}</code></td></tr>\n",
            escape(&s.name),
            escape(&s.title),
            escape(&url)
        ));
    }
    if rows.is_empty() {
        rows.push_str(
            "<tr><td colspan=\"3\">No scenarios: add some to the recordings directory.</td></tr>\n",
        );
    }
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>pawmock</title>
<link rel="icon" href="data:,">
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}
code {{ background: #f3f3f3; padding: 0 .25rem; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }}
</style>
</head>
<body>
<h1>pawmock {version}</h1>
<p>A mock of PocketPaw's backend: it replays scripted and recorded conversations over the
<code>/ws</code> WebSocket protocol, and answers the dashboard's REST calls from canned data.</p>
<p>WebSocket URL: <code id="ws-url">{ws_shown}</code></p>
<p><a id="inspector-link" href="/__pawmock/">Open the inspector</a>: try a scenario in a chat box, watch every connection's frames on a timeline and steer it (pause, faults, close). Metrics for Prometheus are at <a href="/metrics">/metrics</a>.</p>
<h2>Scenarios</h2>
<p>Pick one per connection with <code>?scenario=NAME</code>; without it, each message picks the scenario whose rules match it.</p>
<table>
<thead><tr><th>name</th><th>title</th><th>URL</th></tr></thead>
<tbody>
{rows}</tbody>
</table>
<p>To work on a frontend served from here, start pawmock with <code>--static DIR</code>.</p>
</body>
</html>
"#,
        version = env!("CARGO_PKG_VERSION"),
        ws_shown = escape(&ws),
    );
    let mut r = Response::new(html.into_bytes());
    *r.status_mut() = StatusCode::OK;
    r.headers_mut().insert(
        "content-type",
        warp::http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// Escapes text for HTML (the Host header and file names are not ours to trust).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_untrusted_text_is_escaped() {
        assert_eq!(
            escape(r#"<b a="1">&'"#),
            "&lt;b a=&quot;1&quot;&gt;&amp;&#39;"
        );
    }
}
