//! The inspector's server side over real sockets: the page and its embedded assets, the
//! scenario listing, and the live feed (server-sent events) that follows hot reloads,
//! with the problems of a broken file at file:line:col. The page itself is driven in
//! Chromium by `tests/inspector_browser.rs`.

mod common;

use std::time::Duration;

use common::{PATIENCE, Server, http};
use pawmock::app::ServeConfig;
use pawmock::library::reload::Reloader;
use pawmock::library::watch::{self, WatchConfig};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[tokio::test]
async fn the_page_and_its_assets_are_served_from_the_binary() {
    let server = Server::fixtures().await;
    let page = http::get(server.addr, "/__pawmock/", &[]).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = page.text();
    assert!(html.contains("/__pawmock/inspector/app.js"), "{html}");
    assert!(html.contains("/__pawmock/inspector/app.css"), "{html}");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no CDN: {html}"
    );
    for (path, kind) in [
        ("/__pawmock/inspector/app.js", "text/javascript"),
        ("/__pawmock/inspector/app.css", "text/css"),
    ] {
        let r = http::get(server.addr, path, &[]).await;
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.header("content-type").unwrap().starts_with(kind),
            "{path}"
        );
        assert!(r.body.len() > 1000, "{path} is the real asset");
    }
    let missing = http::get(server.addr, "/__pawmock/inspector/nope.js", &[]).await;
    assert_eq!(missing.status, 404);
    // The index page links to the inspector.
    let index = http::get(server.addr, "/", &[]).await.text();
    assert!(index.contains("href=\"/__pawmock/\""), "{index}");
}

#[tokio::test]
async fn the_listing_has_titles_markers_and_urls() {
    let server = Server::fixtures().await;
    let listing = http::get_json(server.addr, "/__pawmock/inspector/scenarios", 200).await;
    let scenarios = listing["scenarios"].as_array().unwrap();
    let find = |name: &str| {
        scenarios
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {listing}"))
    };
    let weather = find("weather");
    assert_eq!(weather["title"], "Weather with one tool call");
    assert_eq!(weather["kind"], "scenario");
    assert_eq!(weather["path_and_query"], "/ws?scenario=weather");
    assert_eq!(
        find("everything")["markers"],
        serde_json::json!(["before-frame"])
    );
    let recorded = find("weather-recorded");
    assert_eq!(recorded["kind"], "recording");
    assert_eq!(recorded["markers"], serde_json::json!(["answer"]));
    assert_eq!(listing["problems"], serde_json::json!([]));
}

/// Reads server-sent events from `/__pawmock/inspector/feed`.
struct Feed {
    lines: tokio::io::Lines<BufReader<TcpStream>>,
}

impl Feed {
    async fn open(addr: std::net::SocketAddr) -> Feed {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(
                format!(
                    "GET /__pawmock/inspector/feed HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        Feed {
            lines: BufReader::new(stream).lines(),
        }
    }

    /// The data of the next event called `name` (chunked transfer framing lines and
    /// other events are skipped).
    async fn next(&mut self, name: &str) -> Value {
        let want = format!("event:{name}");
        let read = async {
            let mut in_event = false;
            while let Some(line) = self.lines.next_line().await.unwrap() {
                if line == want {
                    in_event = true;
                } else if in_event && let Some(data) = line.strip_prefix("data:") {
                    return serde_json::from_str(data).unwrap();
                } else if line.starts_with("event:") {
                    in_event = false;
                }
            }
            panic!("the feed ended");
        };
        tokio::time::timeout(PATIENCE, read)
            .await
            .unwrap_or_else(|_| panic!("no `{name}` event within {PATIENCE:?}"))
    }

    /// The next `scenarios` event that satisfies `want`.
    async fn scenarios_until(&mut self, want: impl Fn(&Value) -> bool) -> Value {
        loop {
            let v = self.next("scenarios").await;
            if want(&v) {
                return v;
            }
        }
    }
}

#[tokio::test]
async fn the_feed_follows_reloads_with_problems_at_file_line_col() {
    let dir = tempfile::tempdir().unwrap();
    let good = r#"{"title": "First", "turns": [{"when": "any", "reply": [{"say": "hi"}]}]}"#;
    std::fs::write(dir.path().join("first.json"), good).unwrap();
    let server = Server::start(dir.path(), ServeConfig::default()).await;
    let (reloader, _) = Reloader::scan(dir.path()).unwrap();
    let _watch = watch::spawn(
        server.app.clone(),
        reloader,
        WatchConfig {
            debounce: Duration::from_millis(50),
            poll: None,
        },
    )
    .unwrap();

    let mut feed = Feed::open(server.addr).await;
    let first = feed.next("scenarios").await;
    assert_eq!(first["scenarios"][0]["title"], "First");

    // A new scenario appears, live.
    std::fs::write(
        dir.path().join("second.json"),
        good.replace("First", "Second"),
    )
    .unwrap();
    feed.scenarios_until(|v| v["scenarios"].as_array().unwrap().len() == 2)
        .await;

    // A broken file: its problem, with line and column, is listed; the last good
    // version keeps serving.
    std::fs::write(
        dir.path().join("second.json"),
        "{\"title\": \"Second\",\n  \"turns\": [{\"when\": \"any\", \"reply\": [{\"say\": 5}]}]}",
    )
    .unwrap();
    let broken = feed
        .scenarios_until(|v| !v["problems"].as_array().unwrap().is_empty())
        .await;
    let problem = &broken["problems"][0];
    assert!(
        problem["file"].as_str().unwrap().ends_with("second.json"),
        "{problem}"
    );
    assert_eq!(problem["line"], 2, "{problem}");
    assert!(problem["column"].as_u64().unwrap() > 1, "{problem}");
    assert!(
        problem["text"].as_str().unwrap().contains("second.json:2:"),
        "{problem}"
    );
    let listed = http::get_json(server.addr, "/__pawmock/inspector/scenarios", 200).await;
    assert_eq!(listed["problems"], broken["problems"]);

    // Fixed: the problem goes away.
    std::fs::write(
        dir.path().join("second.json"),
        good.replace("First", "Second again"),
    )
    .unwrap();
    let fixed = feed
        .scenarios_until(|v| v["problems"].as_array().unwrap().is_empty())
        .await;
    assert!(
        fixed["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["title"] == "Second again"),
        "{fixed}"
    );

    // The reloads were counted in /metrics too.
    let metrics = http::get(server.addr, "/metrics", &[]).await.text();
    let reloads: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("pawmock_reloads_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(reloads >= 3.0, "{metrics}");
    let problems: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("pawmock_reload_problems_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(problems >= 1.0, "{metrics}");
}
