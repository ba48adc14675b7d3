//! The inspector's server side over real sockets: the page and its embedded assets, the
//! scenario listing, and the live feed (server-sent events) that follows hot reloads,
//! with the problems of a broken file at file:line:col. The page itself is driven in
//! Chromium by `tests/browser.rs`.

mod common;

use std::time::Duration;

use common::{PATIENCE, Server, http};
use pawmock::Reloader;
use pawmock::ServeConfig;
use pawmock::WatchConfig;
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

    /// The name and data of the next event (chunked transfer framing lines and
    /// keep-alive comments are skipped).
    async fn next_any(&mut self) -> (String, Value) {
        let read = async {
            let mut name = None;
            while let Some(line) = self.lines.next_line().await.unwrap() {
                if let Some(n) = line.strip_prefix("event:") {
                    name = Some(n.to_owned());
                } else if let (Some(n), Some(data)) = (&name, line.strip_prefix("data:")) {
                    return (n.clone(), serde_json::from_str(data).unwrap());
                }
            }
            panic!("the feed ended");
        };
        tokio::time::timeout(PATIENCE, read)
            .await
            .unwrap_or_else(|_| panic!("no event within {PATIENCE:?}"))
    }

    /// The data of the next event called `name` (other events are skipped).
    async fn next(&mut self, name: &str) -> Value {
        loop {
            let (n, data) = self.next_any().await;
            if n == name {
                return data;
            }
        }
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
    let _watch = pawmock::watch(
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

#[tokio::test]
async fn the_feed_lists_connections_and_their_journal_entries() {
    let server = Server::fixtures().await;
    let mut feed = Feed::open(server.addr).await;
    feed.next("scenarios").await;
    let mut c = server
        .connect("dialect=docs&scenario=weather&run=feed-test")
        .await;
    let frames = c.ask("what's the weather").await;

    // The connection is listed with its run label, and its journal entries arrive in
    // seq order, every frame it was sent among them.
    let mut listed = None;
    let mut entries = Vec::new();
    let mut last_seq = 0;
    let sent = |entries: &Vec<Value>, id: &str| -> Vec<Value> {
        entries
            .iter()
            .filter(|e| e["conn"] == id && e["kind"] == "frame_sent")
            .cloned()
            .collect()
    };
    loop {
        let (name, data) = feed.next_any().await;
        match name.as_str() {
            "connections" => {
                if let Some(c) = data
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|c| c["run"] == "feed-test")
                {
                    listed = Some(c.clone());
                }
            }
            "journal" => {
                for e in data["entries"].as_array().unwrap() {
                    let seq = e["seq"].as_u64().unwrap();
                    assert!(seq > last_seq, "seq {seq} after {last_seq}");
                    last_seq = seq;
                    entries.push(e.clone());
                }
            }
            _ => {}
        }
        if let Some(c) = &listed
            && sent(&entries, c["id"].as_str().unwrap()).len() >= frames.len()
        {
            break;
        }
    }
    let listed = listed.unwrap();
    assert_eq!(listed["scenario"], "weather");
    let sent = sent(&entries, listed["id"].as_str().unwrap());
    let types: Vec<&str> = sent.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let received: Vec<&str> = frames.iter().map(|f| f["type"].as_str().unwrap()).collect();
    assert_eq!(types, received);
    assert!(
        sent.iter()
            .any(|e| e["scheduled_ms"].is_number() && e["actual_ms"].is_number()),
        "{sent:?}"
    );
}

#[tokio::test]
async fn with_a_token_the_listing_and_feed_need_it() {
    use pawmock::Access;
    let server = Server::start(
        &common::fixtures(),
        ServeConfig {
            admin: Access::Token("s3cret".into()),
            ..ServeConfig::default()
        },
    )
    .await;
    // The page itself holds no data: it loads, and asks for the token.
    assert_eq!(http::get(server.addr, "/__pawmock/", &[]).await.status, 200);
    let refused = http::get(server.addr, "/__pawmock/inspector/scenarios", &[]).await;
    assert_eq!(refused.status, 401);
    assert!(refused.json()["hint"].as_str().unwrap().contains("#token="));
    let allowed = http::get(
        server.addr,
        "/__pawmock/inspector/scenarios",
        &[("Authorization", "Bearer s3cret")],
    )
    .await;
    assert_eq!(allowed.status, 200);

    // The feed: refused with a `problem` event and nothing else, or served with ?token=.
    let mut feed = Feed::open(server.addr).await;
    let problem = feed.next("problem").await;
    assert_eq!(problem["error"], "the inspector needs the admin token");
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /__pawmock/inspector/feed?token=s3cret HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut with_token = Feed {
        lines: BufReader::new(stream).lines(),
    };
    let listing = with_token.next("scenarios").await;
    assert!(!listing["scenarios"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn with_the_control_api_off_the_listing_is_not_found() {
    use pawmock::Access;
    let server = Server::start(
        &common::fixtures(),
        ServeConfig {
            admin: Access::Off,
            ..ServeConfig::default()
        },
    )
    .await;
    let r = http::get(server.addr, "/__pawmock/inspector/scenarios", &[]).await;
    assert_eq!(r.status, 404);
    assert!(r.json()["hint"].as_str().unwrap().contains("--no-admin"));
    let mut feed = Feed::open(server.addr).await;
    assert!(
        feed.next("problem").await["error"]
            .as_str()
            .unwrap()
            .contains("off")
    );
}

#[tokio::test]
async fn a_journal_event_carries_at_most_2000_entries_and_says_how_many_it_skipped() {
    let server = Server::instant(&common::bundled()).await;
    let mut c = server.connect("dialect=docs&scenario=long-markdown").await;
    // Each answer is over 600 frames: four of them journal well over 2,000 entries.
    for _ in 0..4 {
        c.ask("long markdown").await;
    }
    let mut feed = Feed::open(server.addr).await;
    let page = feed.next("journal").await;
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2000);
    assert!(
        page["skipped"].as_u64().unwrap() > 400,
        "{}",
        page["skipped"]
    );
    // The latest entries are the ones kept.
    assert_eq!(
        entries.last().unwrap()["seq"].as_u64().unwrap() + 1,
        page["next_seq"].as_u64().unwrap()
    );
}

#[tokio::test]
async fn an_open_feed_does_not_hold_shutdown_up() {
    let loaded = pawmock::Library::load(&common::fixtures()).unwrap();
    let app = pawmock::App::new(loaded.library, ServeConfig::default());
    let listener = pawmock::bind("127.0.0.1", 0).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = pawmock::spawn(app.clone(), listener);
    let mut feed = Feed::open(addr).await;
    feed.next("scenarios").await;
    app.shutdown.cancel();
    // Graceful shutdown waits for open responses; the feed ends, so it returns at once
    // (well within the 3 s it would otherwise wait for connections).
    tokio::time::timeout(Duration::from_secs(2), server)
        .await
        .expect("the server stopped with a feed open")
        .unwrap();
}
