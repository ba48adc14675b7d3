//! `GET /metrics`: after a scripted run over real sockets, the exposition parses line by
//! line (strictly, as OpenMetrics text) and its figures are the run's.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Server, handshake_status, http};
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

/// Samples by `name{labels}` (labels as written), after checking every line: comments
/// are `# HELP`/`# TYPE`/`# UNIT` of a valid name, `# EOF` is the last line, every
/// sample belongs to a family declared by `# TYPE` before it, label values are quoted
/// and escaped, and values are numbers.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let name_ok = |n: &str| {
        let mut chars = n.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(
        lines.last(),
        Some(&""),
        "the exposition ends with a newline"
    );
    let lines = &lines[..lines.len() - 1];
    assert_eq!(lines.last(), Some(&"# EOF"), "the last line is # EOF");
    let mut families: Vec<(String, String)> = Vec::new();
    let mut samples = BTreeMap::new();
    for (i, line) in lines[..lines.len() - 1].iter().enumerate() {
        let at = format!("line {}: {line:?}", i + 1);
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (keyword, name) = (parts.next().unwrap(), parts.next().unwrap_or(""));
            assert!(name_ok(name), "{at}: bad metric name");
            match keyword {
                "HELP" | "UNIT" => {}
                "TYPE" => {
                    let kind = parts.next().unwrap_or("");
                    assert!(
                        ["counter", "gauge", "histogram", "info", "unknown"].contains(&kind),
                        "{at}: bad type"
                    );
                    families.push((name.to_owned(), kind.to_owned()));
                }
                _ => panic!("{at}: unknown comment"),
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{at}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("{at}: bad value")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => (n, Some(l)),
            None => (series, None),
        };
        assert!(name_ok(name), "{at}: bad name");
        if let Some(labels) = labels {
            let body = labels
                .strip_suffix('}')
                .unwrap_or_else(|| panic!("{at}: unclosed labels"));
            let mut rest = body;
            while !rest.is_empty() {
                let (key, after) = rest
                    .split_once("=\"")
                    .unwrap_or_else(|| panic!("{at}: label without =\""));
                assert!(name_ok(key), "{at}: bad label name {key:?}");
                // The value runs to the first unescaped quote.
                let mut end = None;
                let mut escaped = false;
                for (j, c) in after.char_indices() {
                    match (escaped, c) {
                        (true, '\\' | '"' | 'n') => escaped = false,
                        (true, _) => panic!("{at}: bad escape"),
                        (false, '\\') => escaped = true,
                        (false, '"') => {
                            end = Some(j);
                            break;
                        }
                        (false, _) => {}
                    }
                }
                let end = end.unwrap_or_else(|| panic!("{at}: unterminated label value"));
                rest = &after[end + 1..];
                rest = rest.strip_prefix(',').unwrap_or(rest);
            }
        }
        let (family, kind) = families
            .last()
            .unwrap_or_else(|| panic!("{at}: sample before any # TYPE"));
        let suffixes: &[&str] = match kind.as_str() {
            "counter" => &["_total", "_created"],
            "histogram" => &["_bucket", "_sum", "_count", "_created"],
            "info" => &["_info"],
            _ => &[""],
        };
        assert!(
            suffixes.iter().any(|s| name == format!("{family}{s}")),
            "{at}: sample does not belong to the family {family} ({kind})"
        );
        assert!(
            samples.insert(series.to_owned(), value).is_none(),
            "{at}: repeated series"
        );
    }
    samples
}

async fn scrape(server: &Server) -> BTreeMap<String, f64> {
    let r = http::get(server.addr, "/metrics", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "{:?}",
        r.headers
    );
    parse(&r.text())
}

fn get(m: &BTreeMap<String, f64>, series: &str) -> f64 {
    *m.get(series)
        .unwrap_or_else(|| panic!("no series {series} in {m:#?}"))
}

#[tokio::test]
async fn metrics_count_a_scripted_run_and_parse_strictly() {
    let server = Server::fixtures().await;
    let before = scrape(&server).await;
    assert_eq!(get(&before, "pawmock_frame_lateness_seconds_count"), 0.0);

    // One complete turn, with its frames counted by the client.
    let mut c = server.connect("dialect=docs&scenario=weather").await;
    let frames = c.ask("what's the weather").await;
    let count = |t: &str| frames.iter().filter(|f| f["type"] == t).count() as f64;
    // Two bad frames: undecodable text and a binary frame (each answered by an error).
    c.send_text("this is not JSON").await;
    assert_eq!(c.next().await["type"], "error");
    c.ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    assert_eq!(c.next().await["type"], "error");

    // A turn cancelled by `stop` (the slow fixture plays 4 s at speed 1).
    let mut slow = server.connect("dialect=docs&scenario=slow&speed=1").await;
    slow.send(json!({"action": "message", "content": "go", "session_id": "s"}))
        .await;
    assert_eq!(slow.next().await["type"], "response_chunk");
    slow.send(json!({"action": "stop"})).await;
    while slow.next().await["type"] != "stream_end" {}

    // A refused handshake and a chaos close at connect.
    let (status, _) = handshake_status(&server.url("scenario=weather&fault=reject:status=429"))
        .await
        .expect("refused");
    assert_eq!(status, 429);
    let mut closed = server
        .connect("dialect=docs&scenario=weather&fault=close:code=4003:after=0s:from=connect")
        .await;
    closed.until_closed().await;

    let m = scrape(&server).await;
    assert_eq!(
        get(&m, "pawmock_turns_started_total{scenario=\"weather\"}"),
        1.0
    );
    assert_eq!(
        get(&m, "pawmock_turns_completed_total{scenario=\"weather\"}"),
        1.0
    );
    assert_eq!(
        get(&m, "pawmock_turns_started_total{scenario=\"slow\"}"),
        1.0
    );
    assert_eq!(
        get(&m, "pawmock_turns_cancelled_total{scenario=\"slow\"}"),
        1.0
    );
    assert_eq!(
        get(&m, "pawmock_frames_sent_total{kind=\"thinking\"}"),
        count("thinking")
    );
    assert_eq!(
        get(&m, "pawmock_frames_sent_total{kind=\"tool_start\"}"),
        count("tool_start")
    );
    assert_eq!(
        get(&m, "pawmock_frames_sent_total{kind=\"tool_result\"}"),
        count("tool_result")
    );
    // Text chunks: the weather answer's plus those the slow turn sent before `stop`.
    assert!(
        get(&m, "pawmock_frames_sent_total{kind=\"text_chunk\"}") >= count("response_chunk") + 1.0
    );
    // stream_end: the weather turn's and the cancelled turn's.
    assert_eq!(
        get(&m, "pawmock_frames_sent_total{kind=\"stream_end\"}"),
        2.0
    );
    assert_eq!(get(&m, "pawmock_frames_sent_total{kind=\"error\"}"), 2.0);
    assert!(get(&m, "pawmock_bytes_sent_total") > 200.0);
    assert_eq!(
        get(
            &m,
            "pawmock_client_frames_rejected_total{reason=\"undecodable\"}"
        ),
        1.0
    );
    assert_eq!(
        get(
            &m,
            "pawmock_client_frames_rejected_total{reason=\"binary\"}"
        ),
        1.0
    );
    assert_eq!(
        get(
            &m,
            "pawmock_client_frames_rejected_total{reason=\"too_large\"}"
        ),
        0.0
    );
    assert_eq!(
        get(&m, "pawmock_handshakes_refused_total{kind=\"reject\"}"),
        1.0
    );
    assert_eq!(
        get(&m, "pawmock_faults_applied_total{kind=\"reject\"}"),
        1.0
    );
    assert_eq!(get(&m, "pawmock_faults_applied_total{kind=\"close\"}"), 1.0);
    assert_eq!(get(&m, "pawmock_connections_total{dialect=\"docs\"}"), 3.0);
    // Every scheduled frame of both turns was timed.
    let timed = get(&m, "pawmock_frame_lateness_seconds_count");
    let turn_frames = frames.len() as f64;
    assert!(timed >= turn_frames, "{timed} < {turn_frames}");
    assert_eq!(
        get(&m, "pawmock_frame_lateness_seconds_bucket{le=\"+Inf\"}"),
        timed
    );
    assert_eq!(get(&m, "pawmock_reloads_total"), 0.0);

    // Two connections are still open; the chaos-closed one is not, once it has waited
    // for the client's half of the closing handshake (at most a second).
    let mut open = get(&m, "pawmock_connections_open{dialect=\"docs\"}");
    for _ in 0..100 {
        if open == 2.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        open = get(
            &scrape(&server).await,
            "pawmock_connections_open{dialect=\"docs\"}",
        );
    }
    assert_eq!(open, 2.0);
    drop(c);
    drop(slow);
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    loop {
        let m = scrape(&server).await;
        if get(&m, "pawmock_connections_open{dialect=\"docs\"}") == 0.0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "connections_open stays at {}",
            get(&m, "pawmock_connections_open{dialect=\"docs\"}")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_detected_dialect_moves_the_open_connection_to_its_gauge() {
    let server = Server::fixtures().await;
    let mut c = server.connect("scenario=weather").await;
    let m = scrape(&server).await;
    assert_eq!(get(&m, "pawmock_connections_open{dialect=\"auto\"}"), 1.0);
    c.send(json!({"action": "chat", "message": "hello"})).await;
    c.until_stream_end().await;
    let m = scrape(&server).await;
    assert_eq!(get(&m, "pawmock_connections_open{dialect=\"auto\"}"), 0.0);
    assert_eq!(
        get(&m, "pawmock_connections_open{dialect=\"dashboard\"}"),
        1.0
    );
    assert_eq!(get(&m, "pawmock_connections_total{dialect=\"auto\"}"), 1.0);
}

#[tokio::test]
async fn control_api_faults_and_on_connect_turns_are_counted() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures_control");
    let server = Server::instant(&dir).await;
    // An on_connect turn plays without a chat message: it is a turn of its scenario.
    let mut pushed = server.connect("dialect=docs&scenario=pushes").await;
    assert_eq!(pushed.next().await["type"], "inbox_update");
    assert_eq!(pushed.next().await["type"], "inbox_update");
    // A fault injected now through the control API counts once; one for the next turn
    // counts only when it acts.
    let mut c = server
        .connect("dialect=docs&scenario=pushes&run=metrics-faults")
        .await;
    assert_eq!(c.next().await["type"], "inbox_update");
    assert_eq!(c.next().await["type"], "inbox_update");
    let list = http::get_json(
        server.addr,
        "/__pawmock/connections?run=metrics-faults",
        200,
    )
    .await;
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let next_turn = http::request(
        server.addr,
        "POST",
        &format!("/__pawmock/connections/{id}/fault"),
        &[("Content-Type", "application/json")],
        br#""drop:events=text_chunk""#,
    )
    .await;
    assert_eq!(
        next_turn.json()["applied"],
        "next_turn",
        "{}",
        next_turn.text()
    );
    let m = scrape(&server).await;
    assert_eq!(
        m.get("pawmock_faults_applied_total{kind=\"drop\"}")
            .copied()
            .unwrap_or(0.0),
        0.0
    );
    c.ask("hello").await;
    let now = http::request(
        server.addr,
        "POST",
        &format!("/__pawmock/connections/{id}/fault"),
        &[("Content-Type", "application/json")],
        br#""close:code=4002""#,
    )
    .await;
    assert_eq!(now.json()["applied"], "now", "{}", now.text());
    c.until_closed().await;

    let m = scrape(&server).await;
    assert_eq!(
        get(&m, "pawmock_turns_started_total{scenario=\"pushes\"}"),
        3.0
    );
    assert_eq!(get(&m, "pawmock_faults_applied_total{kind=\"drop\"}"), 1.0);
    assert_eq!(get(&m, "pawmock_faults_applied_total{kind=\"close\"}"), 1.0);
    assert_eq!(get(&m, "pawmock_frames_sent_total{kind=\"inbox\"}"), 4.0);
}
