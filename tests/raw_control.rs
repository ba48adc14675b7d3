//! Raw (unknown-protocol) connections are first-class in the control plane, over real
//! loopback sockets: listed with their live state, `?freeze=` holds an exchange at a
//! marker line (and `wait` sees it), every command acts on them, the journal records
//! them like any connection, and `/metrics` counts them.

mod common;

use std::time::Duration;

use common::control::{api, command, conn_id, journal};
use common::http;
use common::{Client, Ending, Server};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// A made-up protocol with a marker line halfway through the reply. The gaps are
/// `GAP` seconds (the default `max_gap` keeps them), long enough that a frame that
/// arrives early was released by a command, not by its time.
const RECORDING: &str = r#"{"version": 1, "title": "A made-up protocol with a marker", "dialect": "raw", "match": {"ignore": ["$.id"]}}
[0.0, "out", "HELLO v1"]
[1.0, "in", {"op": "ask", "id": 1}]
[0.05, "out", {"op":"token","t":"one"}]
[0.05, "out", {"op":"token","t":"two"}]
[0.0, "marker", "mid-answer"]
[1.5, "out", {"op":"token","t":"three"}]
[1.5, "out_binary", "AAEC"]
[1.5, "out", {"op":"done"}]
"#;

const ASK: &str = r#"{"op": "ask", "id": 42}"#;
const THREE: &str = r#"{"op":"token","t":"three"}"#;
const DONE: &str = r#"{"op":"done"}"#;

async fn server() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("proto.jsonl"), RECORDING).unwrap();
    let server = Server::start(dir.path(), pawmock::ServeConfig::default()).await;
    (dir, server)
}

fn kinds(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect()
}

/// A data message as comparable text: text as is, binary as `bin:` + its bytes.
fn show(m: &Message) -> String {
    match m {
        Message::Text(t) => t.to_string(),
        Message::Binary(b) => format!("bin:{:?}", b.as_ref()),
        other => format!("{other:?}"),
    }
}

/// The next data message (text or binary).
async fn next(c: &mut Client) -> String {
    loop {
        let m = c.raw().await.expect("connection open");
        if matches!(m, Message::Text(_) | Message::Binary(_)) {
            return show(&m);
        }
    }
}

/// Connects, reads the greeting, sends the recorded request and reads the two frames
/// before the marker.
async fn up_to_marker(s: &Server, query: &str) -> Client {
    let mut c = s.connect(query).await;
    assert_eq!(next(&mut c).await, "HELLO v1");
    c.send_text(ASK).await;
    assert_eq!(next(&mut c).await, r#"{"op":"token","t":"one"}"#);
    assert_eq!(next(&mut c).await, r#"{"op":"token","t":"two"}"#);
    c
}

/// Reads until the connection ends: the data messages seen and how it ended.
async fn until_closed(c: &mut Client) -> (Vec<String>, Ending) {
    let mut seen = Vec::new();
    loop {
        match c.raw().await {
            Some(Message::Close(frame)) => {
                let (code, reason) = frame.map_or((1005, String::new()), |f| {
                    (u16::from(f.code), f.reason.to_string())
                });
                return (seen, Ending::Closed(code, reason));
            }
            Some(m) => seen.push(show(&m)),
            None => return (seen, Ending::Abnormal),
        }
    }
}

#[tokio::test]
async fn freeze_holds_a_raw_exchange_at_its_marker_line_until_resume() {
    let (_dir, s) = server().await;
    let mut c = up_to_marker(&s, "scenario=proto&freeze=mid-answer&run=f").await;
    let (status, found) = api(
        &s,
        "POST",
        "/__pawmock/wait",
        Some(json!({"run": "f", "state": "frozen", "timeout": "10s"})),
    )
    .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["state"], "frozen");
    assert_eq!(found["dialect"], "raw");
    assert_eq!(found["scenario"], "proto");
    assert_eq!(found["frames_sent"], 3, "greeting + two tokens");
    // Unfrozen, `three` is due 1.5 s after the marker: held, nothing comes for longer.
    assert!(c.silent_for(Duration::from_millis(2_500)).await);
    let id = found["id"].as_str().unwrap().to_owned();
    let answer = command(&s, &id, "resume", None).await;
    assert_eq!(answer["state"], "playing");
    assert_eq!(next(&mut c).await, THREE);
    assert_eq!(next(&mut c).await, "bin:[0, 1, 2]");
    assert_eq!(next(&mut c).await, DONE);
    let entries = journal(&s, "?run=f").await;
    let k = kinds(&entries);
    let marker = k
        .iter()
        .position(|k| *k == "marker")
        .expect("marker journaled");
    assert_eq!(entries[marker]["name"], "mid-answer");
    assert_eq!(entries[marker + 1]["kind"], "state");
    assert_eq!(entries[marker + 1]["state"], "frozen");
}

#[tokio::test]
async fn freeze_holds_a_raw_greeting_and_the_client_frames_sent_meanwhile_wait_for_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("greet.jsonl"),
        "{\"version\": 1, \"dialect\": \"raw\"}\n[0, \"out\", \"HELLO\"]\n[0, \"marker\", \"greeted\"]\n[0, \"out\", \"READY\"]\n[1, \"in\", \"GO\"]\n[0, \"out\", \"GONE\"]\n",
    )
    .unwrap();
    let s = Server::start(dir.path(), pawmock::ServeConfig::default()).await;
    let mut c = s.connect("scenario=greet&freeze=greeted&run=g").await;
    assert_eq!(next(&mut c).await, "HELLO");
    let (status, found) = api(
        &s,
        "POST",
        "/__pawmock/wait",
        Some(json!({"run": "g", "state": "frozen", "timeout": "10s"})),
    )
    .await;
    assert_eq!(status, 200, "{found}");
    c.send_text("GO").await;
    assert!(c.silent_for(Duration::from_millis(300)).await, "held");
    command(&s, found["id"].as_str().unwrap(), "resume", None).await;
    assert_eq!(next(&mut c).await, "READY");
    assert_eq!(next(&mut c).await, "GONE");
}

#[tokio::test]
async fn a_freeze_that_names_no_marker_line_holds_nothing() {
    let (_dir, s) = server().await;
    let mut c = up_to_marker(&s, "scenario=proto&freeze=nowhere&speed=0").await;
    assert_eq!(next(&mut c).await, THREE);
    assert_eq!(next(&mut c).await, "bin:[0, 1, 2]");
    assert_eq!(next(&mut c).await, DONE);
}

#[tokio::test]
async fn pause_step_speed_and_resume_act_on_a_raw_connection() {
    let (_dir, s) = server().await;
    let mut c = s.connect("scenario=proto&run=p").await;
    assert_eq!(next(&mut c).await, "HELLO v1");
    let id = conn_id(&s, "p").await;
    // Step needs a hold.
    let (status, refused) = api(
        &s,
        "POST",
        &format!("/__pawmock/connections/{id}/step"),
        None,
    )
    .await;
    assert_eq!(status, 409, "{refused}");
    // Paused while idle: the exchange the next frame starts is held from its start.
    assert_eq!(command(&s, &id, "pause", None).await["state"], "paused");
    c.send_text(ASK).await;
    assert!(c.silent_for(Duration::from_millis(400)).await);
    let step = command(&s, &id, "step", None).await;
    assert_eq!(step["frame"], "text");
    assert_eq!(next(&mut c).await, r#"{"op":"token","t":"one"}"#);
    command(&s, &id, "step", None).await;
    assert_eq!(next(&mut c).await, r#"{"op":"token","t":"two"}"#);
    // The marker is not a frame: the step goes on to `three`.
    command(&s, &id, "step", None).await;
    assert_eq!(next(&mut c).await, THREE);
    let step = command(&s, &id, "step", None).await;
    assert_eq!(step["frame"], "binary");
    assert_eq!(next(&mut c).await, "bin:[0, 1, 2]");
    assert!(
        c.silent_for(Duration::from_millis(300)).await,
        "still paused"
    );
    // (Exact timing of pause and speed: the paused-clock test below.)
    command(&s, &id, "speed", Some(json!({"speed": 0}))).await;
    command(&s, &id, "resume", None).await;
    assert_eq!(next(&mut c).await, DONE);
    let (_, conn) = api(&s, "GET", &format!("/__pawmock/connections/{id}"), None).await;
    assert_eq!(conn["state"], "idle");
    assert_eq!(conn["frames_sent"], 6);
    let commands: Vec<_> = journal(&s, "?run=p")
        .await
        .into_iter()
        .filter(|e| e["kind"] == "command")
        .map(|e| {
            format!(
                "{} {}",
                e["command"].as_str().unwrap(),
                e["outcome"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        commands[0],
        "step refused: the connection is not paused, so there is nothing to step"
    );
    assert_eq!(
        commands[1..],
        [
            "pause now",
            "step now",
            "step now",
            "step now",
            "step now",
            "speed now",
            "resume now"
        ]
    );
}

#[tokio::test]
async fn send_puts_a_text_frame_on_a_raw_connection_exactly_as_given_and_close_closes_it() {
    let (_dir, s) = server().await;
    let mut c = s.connect("scenario=proto&run=s").await;
    assert_eq!(next(&mut c).await, "HELLO v1");
    let id = conn_id(&s, "s").await;
    let sent = command(&s, &id, "send", Some(json!({"raw": "PUSH  7 {not json"}))).await;
    assert_eq!(sent["frames"], 1);
    assert_eq!(next(&mut c).await, "PUSH  7 {not json");
    // Steps need a protocol to be rendered in.
    let (status, refused) = api(
        &s,
        "POST",
        &format!("/__pawmock/connections/{id}/send"),
        Some(json!({"say": "hi"})),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"].as_str().unwrap().contains("raw recording"),
        "{refused}"
    );
    assert!(
        refused["hint"].as_str().unwrap().contains("\"raw\""),
        "{refused}"
    );
    let closed = command(
        &s,
        &id,
        "close",
        Some(json!({"code": 4001, "reason": "expired"})),
    )
    .await;
    assert_eq!(closed["applied"], "now");
    let (rest, ending) = until_closed(&mut c).await;
    assert!(rest.is_empty(), "{rest:?}");
    assert_eq!(ending, Ending::Closed(4001, "expired".into()));
    let entries = journal(&s, "?run=s").await;
    let last = entries.last().unwrap();
    assert_eq!(last["kind"], "closed");
    assert_eq!(last["code"], 4001);
    assert_eq!(last["reason"], "expired");
    assert_eq!(last["by"], "server");
    assert!(
        last["end"].as_str().unwrap().contains("control API"),
        "{last}"
    );
    let sent_frames: Vec<_> = entries
        .iter()
        .filter(|e| e["kind"] == "frame_sent")
        .collect();
    assert_eq!(sent_frames.len(), 2, "greeting and the frame sent");
}

#[tokio::test]
async fn faults_through_the_api_act_on_a_raw_connection() {
    let (_dir, s) = server().await;
    let mut c = up_to_marker(&s, "scenario=proto&freeze=mid-answer&run=x").await;
    let id = conn_id(&s, "x").await;
    // `error` needs an error frame of the protocol.
    let (status, refused) = api(
        &s,
        "POST",
        &format!("/__pawmock/connections/{id}/fault"),
        Some(json!("error:message=boom")),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"].as_str().unwrap().contains("error frame"),
        "{refused}"
    );
    // Frozen at the marker: `corrupt` cuts the exchange's next frame in half.
    api(
        &s,
        "POST",
        "/__pawmock/wait",
        Some(json!({"run": "x", "state": "frozen"})),
    )
    .await;
    let corrupt = command(&s, &id, "fault", Some(json!("corrupt"))).await;
    assert_eq!(corrupt["applied"], "now");
    command(&s, &id, "step", None).await;
    assert_eq!(next(&mut c).await, &THREE[..THREE.len() / 2]);
    // A fault with an event filter waits for the next exchange.
    let later = command(&s, &id, "fault", Some(json!("drop:events=frame"))).await;
    assert_eq!(later["applied"], "next_turn");
    let abort = command(&s, &id, "fault", Some(json!("abort"))).await;
    assert_eq!(abort["applied"], "now");
    let (rest, ending) = until_closed(&mut c).await;
    assert!(rest.is_empty(), "{rest:?}");
    assert_eq!(ending, Ending::Abnormal);
    let entries = journal(&s, "?run=x").await;
    let faults: Vec<_> = entries
        .iter()
        .filter(|e| e["kind"] == "fault_applied")
        .map(|e| {
            format!(
                "{} {}",
                e["fault"].as_str().unwrap(),
                e["stage"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        faults,
        ["corrupt control", "drop next_turn", "abort control"]
    );
    let closed = entries.last().unwrap();
    assert_eq!(closed["kind"], "closed");
    assert_eq!(closed["code"], Value::Null);
}

#[tokio::test]
async fn a_fault_for_the_next_exchange_acts_on_it() {
    let (_dir, s) = server().await;
    let mut c = s.connect("scenario=proto&run=n&speed=0").await;
    assert_eq!(next(&mut c).await, "HELLO v1");
    let id = conn_id(&s, "n").await;
    let answer = command(
        &s,
        &id,
        "fault",
        Some(json!(
            "close:code=4002:reason=gone:events=frame:after_step=2"
        )),
    )
    .await;
    assert_eq!(answer["applied"], "next_turn");
    c.send_text(ASK).await;
    let (seen, ending) = until_closed(&mut c).await;
    assert_eq!(ending, Ending::Closed(4002, "gone".into()));
    assert!(seen.len() < 5, "the close cut the exchange short: {seen:?}");
    let entries = journal(&s, "?run=n").await;
    assert!(
        entries
            .iter()
            .any(|e| e["kind"] == "fault_applied" && e["fault"] == "close" && e["stage"] == "turn"),
        "{entries:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn on_the_paused_clock_a_pause_shifts_a_raw_exchange_by_exactly_the_time_held_and_speed_scales_the_rest()
 {
    let (_dir, s) = server().await;
    let mut c = s.connect("scenario=proto&run=v").await;
    assert_eq!(next(&mut c).await, "HELLO v1");
    let id = conn_id(&s, "v").await;
    let asked = tokio::time::Instant::now();
    c.send_text(ASK).await;
    let ms = |from: tokio::time::Instant| from.elapsed().as_millis();
    assert_eq!(next(&mut c).await, r#"{"op":"token","t":"one"}"#);
    assert_eq!(ms(asked), 50);
    assert_eq!(next(&mut c).await, r#"{"op":"token","t":"two"}"#);
    assert_eq!(ms(asked), 100);
    command(&s, &id, "pause", None).await;
    let paused_at = asked.elapsed();
    tokio::time::sleep(Duration::from_secs(5)).await;
    command(&s, &id, "resume", None).await;
    let held = (asked.elapsed() - paused_at).as_millis();
    assert!(held >= 5_000, "{held}");
    // `three` was due 1.5 s after `two`: it comes exactly `held` later.
    assert_eq!(next(&mut c).await, THREE);
    assert_eq!(ms(asked), 1_600 + held);
    // Twice as fast from here: the 1.5 s gaps take 750 ms.
    let three_at = tokio::time::Instant::now();
    command(&s, &id, "speed", Some(json!({"speed": 2}))).await;
    assert_eq!(next(&mut c).await, "bin:[0, 1, 2]");
    assert_eq!(ms(three_at), 750);
    assert_eq!(next(&mut c).await, DONE);
    assert_eq!(ms(three_at), 1_500);
}

#[tokio::test]
async fn a_stall_for_good_cancels_the_raw_exchange_and_a_client_leaving_cancels_the_next() {
    let (_dir, s) = server().await;
    let mut c = up_to_marker(&s, "scenario=proto&freeze=mid-answer&run=c").await;
    let id = conn_id(&s, "c").await;
    api(
        &s,
        "POST",
        "/__pawmock/wait",
        Some(json!({"run": "c", "state": "frozen"})),
    )
    .await;
    let stalled = command(&s, &id, "fault", Some(json!("stall"))).await;
    assert_eq!(stalled["applied"], "now");
    assert_eq!(
        stalled["state"], "idle",
        "the exchange is over, the socket open"
    );
    assert!(c.silent_for(Duration::from_millis(300)).await);
    // The conversation goes on: the next request plays again, up to the marker.
    c.send_text(ASK).await;
    assert_eq!(next(&mut c).await, r#"{"op":"token","t":"one"}"#);
    assert_eq!(next(&mut c).await, r#"{"op":"token","t":"two"}"#);
    api(
        &s,
        "POST",
        "/__pawmock/wait",
        Some(json!({"run": "c", "state": "frozen"})),
    )
    .await;
    drop(c);
    let mut cancelled = Vec::new();
    for _ in 0..200 {
        let entries = journal(&s, "?run=c").await;
        if entries.last().is_some_and(|e| e["kind"] == "closed") {
            cancelled = entries
                .iter()
                .filter(|e| e["kind"] == "turn_cancelled")
                .map(|e| {
                    (
                        e["why"].as_str().unwrap().to_owned(),
                        e["frames"].as_u64().unwrap(),
                    )
                })
                .collect();
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Each held after two frames and the marker.
    assert_eq!(
        cancelled,
        [("fault".to_owned(), 3), ("connection closed".to_owned(), 3)]
    );
    let m = http::get(s.addr, "/metrics", &[]).await.text();
    assert_eq!(
        metric(&m, "pawmock_turns_cancelled_total{scenario=\"proto\"}"),
        2.0,
        "{m}"
    );
    assert_eq!(
        metric(&m, "pawmock_faults_applied_total{kind=\"stall\"}"),
        1.0,
        "{m}"
    );
}

/// The value of one series in the exposition (0 when absent).
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

#[tokio::test]
async fn the_journal_and_metrics_count_raw_connections_turns_and_frames() {
    let (_dir, s) = server().await;
    let mut c = s.connect("scenario=proto&run=j&speed=0").await;
    assert_eq!(next(&mut c).await, "HELLO v1");
    c.send_text("nothing like it").await;
    c.send_text(ASK).await;
    for _ in 0..5 {
        next(&mut c).await;
    }
    let id = conn_id(&s, "j").await;
    let (_, conn) = api(&s, "GET", &format!("/__pawmock/connections/{id}"), None).await;
    let m = http::get(s.addr, "/metrics", &[]).await.text();
    assert_eq!(
        metric(&m, "pawmock_connections_total{dialect=\"raw\"}"),
        1.0,
        "{m}"
    );
    assert_eq!(
        metric(&m, "pawmock_connections_open{dialect=\"raw\"}"),
        1.0,
        "{m}"
    );
    assert_eq!(
        metric(&m, "pawmock_turns_started_total{scenario=\"proto\"}"),
        2.0,
        "{m}"
    );
    assert_eq!(
        metric(&m, "pawmock_turns_completed_total{scenario=\"proto\"}"),
        2.0,
        "{m}"
    );
    assert_eq!(
        metric(&m, "pawmock_frames_sent_total{kind=\"frame\"}"),
        6.0,
        "{m}"
    );
    assert_eq!(
        metric(
            &m,
            "pawmock_client_frames_rejected_total{reason=\"undecodable\"}"
        ),
        1.0,
        "{m}"
    );
    assert_eq!(conn["frames_sent"], 6);
    c.ws.close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    }))
    .await
    .unwrap();
    let mut entries = Vec::new();
    for _ in 0..200 {
        entries = journal(&s, "?run=j").await;
        if entries.last().is_some_and(|e| e["kind"] == "closed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let k = kinds(&entries);
    let frames: Vec<_> = entries
        .iter()
        .filter(|e| e["kind"] == "frame_sent")
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(frames, ["text", "text", "text", "text", "binary", "text"]);
    let without_frames: Vec<_> = k
        .into_iter()
        .filter(|k| *k != "frame_sent" && *k != "state")
        .collect();
    assert_eq!(
        without_frames,
        [
            "handshake",
            "opened",
            "turn_started",
            "turn_ended",
            "client_frame",
            "client_frame",
            "turn_started",
            "marker",
            "turn_ended",
            "closed"
        ]
    );
    let clients: Vec<_> = entries
        .iter()
        .filter(|e| e["kind"] == "client_frame")
        .map(|e| (e["action"].as_str().unwrap(), e["text"].as_str().unwrap()))
        .collect();
    assert_eq!(clients, [("unmatched", "nothing like it"), ("raw", ASK)]);
    let opened = entries.iter().find(|e| e["kind"] == "opened").unwrap();
    assert_eq!(opened["dialect"], "raw");
    let started: Vec<_> = entries
        .iter()
        .filter(|e| e["kind"] == "turn_started")
        .map(|e| e["trigger"].as_str().unwrap())
        .collect();
    assert_eq!(started, ["on_connect", "message"]);
    let (_, summary) = api(&s, "GET", "/__pawmock/journal/summary?run=j", None).await;
    assert_eq!(summary["connections"], 1, "{summary}");
    assert_eq!(summary["turns_completed"], 2, "{summary}");
    assert_eq!(summary["client_closes"], 1, "{summary}");
    let closed = entries.last().unwrap();
    assert_eq!(closed["by"], "client");
    assert_eq!(closed["code"], 1000);
    assert_eq!(closed["reason"], "bye");
    // Gone from the registry and from the open gauge.
    for _ in 0..200 {
        let m = http::get(s.addr, "/metrics", &[]).await.text();
        if metric(&m, "pawmock_connections_open{dialect=\"raw\"}") == 0.0 {
            let (status, _) = api(&s, "GET", &format!("/__pawmock/connections/{id}"), None).await;
            assert_eq!(status, 404);
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the raw connection stays counted as open");
}

#[test]
fn check_locates_a_marker_line_whose_name_freeze_cannot_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.jsonl"),
        "{\"version\": 1, \"dialect\": \"raw\"}\n[0, \"out\", \"HI\"]\n[0, \"marker\", \"mid answer\"]\n",
    )
    .unwrap();
    let out = common::failed_check(dir.path());
    assert!(out.contains("bad.jsonl:3:"), "{out}");
    assert!(out.contains("mid answer"), "{out}");
    assert!(out.contains("?freeze="), "{out}");
}
