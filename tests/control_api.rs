//! The control API over real sockets: the registry, commands into live connections,
//! freeze and wait, the journal and its summary, reset, and the access rule.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::control::{api, conn_id, journal};
use common::http;
use common::{Client, Ending, Server, types};
use pawmock::ServeConfig;
use pawmock::{Access, JournalConfig};
use serde_json::{Value, json};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures_control")
}

async fn server(config: ServeConfig) -> Server {
    Server::start(&dir(), config).await
}

async fn api_with(
    s: &Server,
    method: &str,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let r = http::request(s.addr, method, path, headers, body.as_bytes()).await;
    (r.status, r.json())
}

async fn raw_api(s: &Server, method: &str, path: &str, body: &str) -> (u16, Value) {
    let r = http::request(s.addr, method, path, &[], body.as_bytes()).await;
    (r.status, r.json())
}

fn kinds(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_error(status: u16, body: &Value, want: u16, contains: &str) {
    assert_eq!(status, want, "{body}");
    let error = body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {body}"));
    assert!(error.contains(contains), "`{error}` lacks `{contains}`");
    assert!(
        body["hint"].as_str().is_some_and(|h| !h.is_empty()),
        "no hint in {body}"
    );
}

#[tokio::test]
async fn connections_are_listed_with_their_facts_and_found_by_id() {
    let s = server(ServeConfig {
        speed: pawmock::Speed::INSTANT,
        ..Default::default()
    })
    .await;
    let mut a = s.connect("scenario=stream&run=one").await;
    let _b = s.connect("run=two").await;
    let id = conn_id(&s, "one").await;
    conn_id(&s, "two").await;
    let (status, all) = api(&s, "GET", "/__pawmock/connections", None).await;
    assert_eq!(status, 200);
    assert_eq!(all.as_array().unwrap().len(), 2);
    let (_, one) = api(&s, "GET", &format!("/__pawmock/connections/{id}"), None).await;
    assert_eq!(one["run"], "one");
    assert_eq!(one["path_and_query"], "/ws?scenario=stream&run=one");
    assert_eq!(one["scenario"], "stream");
    assert_eq!(one["state"], "idle");
    assert_eq!(one["dialect"], "auto");
    assert!(
        one["opened_at"].as_str().unwrap().ends_with("+00:00"),
        "{one}"
    );
    a.ask("go").await;
    let (_, one) = api(&s, "GET", &format!("/__pawmock/connections/{id}"), None).await;
    assert!(one["frames_sent"].as_u64().unwrap() >= 9, "{one}");
    assert_eq!(one["dialect"], "docs", "detected from the first message");
    let (status, body) = api(&s, "GET", "/__pawmock/connections/c999", None).await;
    assert_error(status, &body, 404, "no live connection `c999`");
    drop(a);
    for _ in 0..200 {
        let (_, list) = api(&s, "GET", "/__pawmock/connections?run=one", None).await;
        if list.as_array().unwrap().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("a closed connection stays listed");
}

#[tokio::test]
async fn pause_holds_the_turn_and_resume_goes_on_where_it_stopped() {
    let s = server(ServeConfig::default()).await;
    let mut c = s.connect("scenario=stream&run=p").await;
    let id = conn_id(&s, "p").await;
    c.send(json!({"action": "message", "content": "go"})).await;
    let first = c.next().await;
    assert_eq!(first["content"], "one ");
    let (status, r) = api(
        &s,
        "POST",
        &format!("/__pawmock/connections/{id}/pause"),
        None,
    )
    .await;
    assert_eq!((status, r["state"].as_str()), (200, Some("paused")), "{r}");
    // Chunks are 100 ms apart: a held turn sends nothing for much longer.
    assert!(c.silent_for(Duration::from_millis(700)).await);
    let resumed = Instant::now();
    let (status, r) = api(
        &s,
        "POST",
        &format!("/__pawmock/connections/{id}/resume"),
        None,
    )
    .await;
    assert_eq!((status, r["state"].as_str()), (200, Some("playing")), "{r}");
    let rest = c.until_stream_end().await;
    let text: String = rest.iter().filter_map(|f| f["content"].as_str()).collect();
    assert_eq!(text, "two three four five six seven eight");
    // Seven more chunks ~100 ms apart: the rest plays at its pace, not at once and not
    // after the time paused again (generous bounds for a loaded machine).
    let took = resumed.elapsed();
    assert!(took >= Duration::from_millis(350), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn step_sends_the_next_frame_only_and_speed_changes_the_pace() {
    let s = server(ServeConfig::default()).await;
    let mut c = s.connect("scenario=stream&run=s&first_token=1s").await;
    let id = conn_id(&s, "s").await;
    let (status, body) = api(
        &s,
        "POST",
        &format!("/__pawmock/connections/{id}/step"),
        None,
    )
    .await;
    assert_error(status, &body, 409, "not paused");
    api(
        &s,
        "POST",
        &format!("/__pawmock/connections/{id}/pause"),
        None,
    )
    .await;
    c.send(json!({"action": "message", "content": "go"})).await;
    assert!(
        c.silent_for(Duration::from_millis(1500)).await,
        "a paused connection holds a new turn"
    );
    for word in ["one ", "two ", "three "] {
        let (status, r) = api(
            &s,
            "POST",
            &format!("/__pawmock/connections/{id}/step"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["frame"], "response_chunk");
        assert_eq!(c.next().await["content"], word);
        assert!(
            c.silent_for(Duration::from_millis(300)).await,
            "one frame per step"
        );
    }
    let (status, r) = api(
        &s,
        "POST",
        &format!("/__pawmock/connections/{id}/speed"),
        Some(json!({"speed": 1000})),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    let started = Instant::now();
    api(
        &s,
        "POST",
        &format!("/__pawmock/connections/{id}/resume"),
        None,
    )
    .await;
    let rest = c.until_stream_end().await;
    assert_eq!(rest.len(), 6, "{rest:?}");
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "speed 1000 plays the rest at once"
    );
}

/// The frames a frozen connection received before it froze, and the rest after resume.
async fn frozen_run(s: &Server, run: &str) -> (Vec<Value>, Vec<Value>) {
    let mut c = s
        .connect(&format!(
            "scenario=stream&seed=7&freeze=mid-answer&run={run}&speed=20"
        ))
        .await;
    c.send(json!({"action": "message", "content": "go"})).await;
    let (status, r) = api(
        s,
        "POST",
        "/__pawmock/wait",
        Some(json!({"run": run, "state": "frozen", "timeout": "10s"})),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["state"], "frozen");
    let mut before = Vec::new();
    while let Ok(Some(Ok(m))) = tokio::time::timeout(
        Duration::from_millis(300),
        futures_util::StreamExt::next(&mut c.ws),
    )
    .await
    {
        before.push(serde_json::from_str::<Value>(m.to_text().unwrap()).unwrap());
    }
    let id = r["id"].as_str().unwrap().to_owned();
    api(
        s,
        "POST",
        &format!("/__pawmock/connections/{id}/resume"),
        None,
    )
    .await;
    (before, c.until_stream_end().await)
}

#[tokio::test]
async fn freeze_holds_at_the_marker_the_same_way_every_time() {
    let s = server(ServeConfig::default()).await;
    let (before1, after1) = frozen_run(&s, "f1").await;
    let (before2, after2) = frozen_run(&s, "f2").await;
    let text = |fs: &[Value]| {
        fs.iter()
            .filter_map(|f| f["content"].as_str())
            .collect::<String>()
    };
    // Each connection has a session of its own; everything else is the same.
    let shape = |fs: &[Value]| -> Vec<Value> {
        fs.iter()
            .map(|f| {
                let mut f = f.clone();
                f.as_object_mut().unwrap().remove("session_id");
                f
            })
            .collect()
    };
    assert_eq!(text(&before1), "one two three four ");
    assert_eq!(shape(&before1), shape(&before2));
    assert_eq!(text(&after1), "five six seven eight");
    assert_eq!(shape(&after1), shape(&after2));
    let marks: Vec<Value> = journal(&s, "?run=f1")
        .await
        .into_iter()
        .filter(|e| e["kind"] == "marker")
        .collect();
    assert_eq!(marks.len(), 1);
    assert_eq!(marks[0]["name"], "mid-answer");
}

#[tokio::test]
async fn a_freeze_on_a_marker_the_scenario_lacks_is_reported() {
    let s = server(ServeConfig {
        speed: pawmock::Speed::INSTANT,
        ..Default::default()
    })
    .await;
    let mut c = s.connect("scenario=stream&freeze=nope").await;
    let f = c.next().await;
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("has no marker `nope`; its markers: mid-answer"),
        "{f}"
    );
}

#[tokio::test]
async fn wait_answers_408_when_no_connection_reaches_the_state() {
    let s = server(ServeConfig::default()).await;
    let started = Instant::now();
    let (status, body) = api(
        &s,
        "POST",
        "/__pawmock/wait",
        Some(json!({"run": "nobody", "state": "frozen", "timeout": "300ms"})),
    )
    .await;
    assert_error(
        status,
        &body,
        408,
        "no connection of run `nobody` reached `frozen`",
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn send_renders_steps_in_the_connection_dialect_and_raw_frames_as_given() {
    let s = server(ServeConfig {
        speed: pawmock::Speed::INSTANT,
        ..Default::default()
    })
    .await;
    let mut docs = s.connect("dialect=docs&run=d").await;
    let id = conn_id(&s, "d").await;
    let (status, r) = api(
        &s,
        "POST",
        &format!("/__pawmock/connections/{id}/send"),
        Some(json!({"inbox": {"channel": "telegram", "message": "new message"}})),
    )
    .await;
    assert_eq!((status, r["frames"].as_u64()), (200, Some(1)), "{r}");
    let f = docs.next().await;
    assert_eq!(f["type"], "inbox_update", "{f}");
    api(
        &s,
        "POST",
        &format!("/__pawmock/connections/{id}/send"),
        Some(json!({"raw": "{\"type\":\"custom\",\"n\":1}"})),
    )
    .await;
    assert_eq!(docs.next().await, json!({"type": "custom", "n": 1}));
    let mut dash = s.connect("dialect=dashboard&run=h").await;
    assert_eq!(dash.next().await["type"], "connection_info");
    let id = conn_id(&s, "h").await;
    api(
        &s,
        "POST",
        &format!("/__pawmock/connections/{id}/send"),
        Some(json!({"error": "boom"})),
    )
    .await;
    let f = dash.next().await;
    assert_eq!(
        (f["type"].as_str(), f["content"].as_str()),
        (Some("error"), Some("boom")),
        "{f}"
    );
}

#[tokio::test]
async fn close_and_abort_end_the_connection_as_asked() {
    let s = server(ServeConfig {
        speed: pawmock::Speed::INSTANT,
        ..Default::default()
    })
    .await;
    let mut c = s.connect("run=c").await;
    let id = conn_id(&s, "c").await;
    let (status, r) = api(
        &s,
        "POST",
        &format!("/__pawmock/connections/{id}/close"),
        Some(json!({"code": 4001, "reason": "bye"})),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(c.until_closed().await.1, Ending::Closed(4001, "bye".into()));
    let mut closed = Value::Null;
    for _ in 0..200 {
        if let Some(e) = journal(&s, "?run=c")
            .await
            .into_iter()
            .find(|e| e["kind"] == "closed")
        {
            closed = e;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(closed["code"], 4001, "{closed}");
    assert_eq!(closed["reason"], "bye");
    assert_eq!(closed["by"], "server");
    assert!(
        closed["end"].as_str().unwrap().contains("control API"),
        "{closed}"
    );
    let mut c = s.connect("run=a").await;
    let id = conn_id(&s, "a").await;
    let (status, r) = api(
        &s,
        "POST",
        &format!("/__pawmock/connections/{id}/fault"),
        Some(json!("abort")),
    )
    .await;
    assert_eq!((status, r["applied"].as_str()), (200, Some("now")), "{r}");
    assert_eq!(c.until_closed().await.1, Ending::Abnormal);
}

#[tokio::test]
async fn a_fault_with_a_trigger_or_on_events_goes_to_the_next_turn() {
    let s = server(ServeConfig {
        speed: pawmock::Speed::INSTANT,
        ..Default::default()
    })
    .await;
    let mut c = s.connect("scenario=stream&run=n").await;
    let id = conn_id(&s, "n").await;
    let (status, r) = api(
        &s,
        "POST",
        &format!("/__pawmock/connections/{id}/fault"),
        Some(json!({"kind": "drop", "events": ["text_chunk"]})),
    )
    .await;
    assert_eq!(
        (status, r["applied"].as_str()),
        (200, Some("next_turn")),
        "{r}"
    );
    let frames = c.ask("go").await;
    assert_eq!(types(&frames), ["stream_end"], "every chunk dropped");
    let frames = c.ask("go").await;
    assert_eq!(frames.len(), 9, "only the next turn");
}

#[tokio::test]
async fn collection_routes_act_on_every_connection_of_a_run() {
    let s = server(ServeConfig {
        speed: pawmock::Speed::INSTANT,
        ..Default::default()
    })
    .await;
    let mut a = s.connect("run=both").await;
    let mut b = s.connect("run=both").await;
    let _other = s.connect("run=else").await;
    for _ in 0..200 {
        let (_, l) = api(&s, "GET", "/__pawmock/connections?run=both", None).await;
        if l.as_array().unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, r) = api(
        &s,
        "POST",
        "/__pawmock/connections/close?run=both",
        Some(json!({"code": 1012})),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["connections"].as_array().unwrap().len(), 2);
    assert!(matches!(a.until_closed().await.1, Ending::Closed(1012, _)));
    assert!(matches!(b.until_closed().await.1, Ending::Closed(1012, _)));
    let (status, body) = api(&s, "POST", "/__pawmock/connections/close", None).await;
    assert_error(status, &body, 400, "needs ?run=LABEL");
}

#[tokio::test]
async fn the_journal_records_a_connection_in_order() {
    let s = server(ServeConfig {
        speed: pawmock::Speed::INSTANT,
        journal: JournalConfig {
            frames: true,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut c = s.connect("scenario=stream&run=j").await;
    c.ask("go").await;
    c.send_text("not json").await;
    c.next().await;
    drop(c);
    let mut entries = Vec::new();
    for _ in 0..200 {
        entries = journal(&s, "?run=j").await;
        if entries.last().is_some_and(|e| e["kind"] == "closed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let k = kinds(&entries);
    let pos = |kind: &str| {
        k.iter()
            .position(|x| x == kind)
            .unwrap_or_else(|| panic!("no {kind} in {k:?}"))
    };
    assert!(pos("handshake") < pos("opened"));
    assert!(pos("opened") < pos("client_frame"));
    assert!(pos("client_frame") < pos("turn_started"));
    assert!(pos("turn_started") < pos("frame_sent"));
    assert!(pos("frame_sent") < pos("turn_ended"));
    assert_eq!(k.last().unwrap(), "closed");
    let chat = &entries[pos("client_frame")];
    assert_eq!(
        (chat["action"].as_str(), chat["message"].as_str()),
        (Some("chat"), Some("go"))
    );
    assert!(
        entries
            .iter()
            .any(|e| e["kind"] == "client_frame" && e["action"] == "invalid")
    );
    let sent = entries
        .iter()
        .find(|e| e["kind"] == "frame_sent" && e["type"] == "response_chunk")
        .unwrap();
    assert!(
        sent["body"]
            .as_str()
            .unwrap()
            .contains("\"content\":\"one \""),
        "{sent}"
    );
    assert!(
        sent["scheduled_ms"].is_number() && sent["actual_ms"].is_number(),
        "{sent}"
    );
    assert_eq!(entries[pos("closed")]["by"], "client");
    assert!(
        entries
            .iter()
            .all(|e| e["conn"] == entries[0]["conn"] && e["run"] == "j")
    );
    let last = seqs.last().unwrap();
    assert!(
        journal(&s, &format!("?since={}", last + 1))
            .await
            .is_empty()
    );
    assert_eq!(journal(&s, &format!("?since={last}")).await.len(), 1);
    let (status, _) = api(&s, "DELETE", "/__pawmock/journal", None).await;
    assert_eq!(status, 200);
    assert!(journal(&s, "").await.is_empty());
}

#[tokio::test]
async fn the_journal_is_bounded() {
    let s = server(ServeConfig {
        speed: pawmock::Speed::INSTANT,
        journal: JournalConfig {
            size: 20,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut c = s.connect("scenario=stream&run=b").await;
    for _ in 0..5 {
        c.ask("go").await;
    }
    let (_, page) = api(&s, "GET", "/__pawmock/journal", None).await;
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 20);
    assert!(page["dropped"].as_u64().unwrap() > 0);
    assert!(
        entries.last().unwrap()["seq"].as_u64().unwrap() > 40,
        "the newest are kept"
    );
}

#[tokio::test]
async fn the_summary_counts_a_scripted_reconnect_and_the_resent_message() {
    let s = server(ServeConfig::default()).await;
    // The page's first connection: the server aborts it while the answer streams.
    let mut c = s.connect("scenario=stream&run=r").await;
    let id = conn_id(&s, "r").await;
    c.send(json!({"action": "message", "content": "tell me"}))
        .await;
    assert_eq!(c.next().await["content"], "one ");
    api(
        &s,
        "POST",
        &format!("/__pawmock/connections/{id}/fault"),
        Some(json!("abort")),
    )
    .await;
    assert_eq!(c.until_closed().await.1, Ending::Abnormal);
    // The client reconnects after a while and sends its unanswered message again.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut c = s.connect("scenario=stream&run=r&speed=0").await;
    let frames = c.ask("tell me").await;
    assert_eq!(frames.len(), 9);
    c.send(json!({"action": "stop"})).await;
    c.next().await;
    let (status, sum) = api(&s, "GET", "/__pawmock/journal/summary?run=r", None).await;
    assert_eq!(status, 200, "{sum}");
    assert_eq!(sum["attempts"], 2, "{sum}");
    assert_eq!(sum["connections"], 2);
    assert_eq!(sum["reconnects"], 1);
    assert_eq!(sum["resent_messages"], json!(["tell me"]));
    assert_eq!(sum["stops"], 1);
    assert_eq!(sum["turns_completed"], 1);
    assert_eq!(sum["turns_cancelled"], 1);
    assert_eq!(sum["server_closes"], 1);
    let gaps = sum["reconnect_ms"].as_array().unwrap();
    assert_eq!(gaps.len(), 1);
    let gap = gaps[0].as_f64().unwrap();
    assert!((150.0..10_000.0).contains(&gap), "{gap}");
    assert_eq!(sum["complete"], true);
}

#[tokio::test]
async fn reset_restores_sessions_counters_and_journal_and_closes_only_when_asked() {
    let s = server(ServeConfig {
        speed: pawmock::Speed::INSTANT,
        ..Default::default()
    })
    .await;
    let mut c = s.connect("run=x").await;
    c.send(json!({"action": "message", "content": "remember this"}))
        .await;
    c.until_stream_end().await;
    assert!(!s.app.sessions.list().is_empty());
    // A refuse_first fault counts attempts per URL; reset starts the count again.
    let url = s.url("fault=refuse_first:count=1&run=y");
    assert!(common::handshake_status(&url).await.is_some());
    assert!(common::handshake_status(&url).await.is_none());
    let (status, r) = api(&s, "POST", "/__pawmock/reset", None).await;
    assert_eq!(status, 200, "{r}");
    assert!(
        s.app.sessions.list().is_empty(),
        "chatted sessions are gone"
    );
    assert!(
        journal(&s, "").await.iter().all(|e| e["run"] != "y"),
        "journal cleared"
    );
    assert!(
        common::handshake_status(&url).await.is_some(),
        "attempts count afresh"
    );
    // The open connection stayed open and still answers.
    assert_eq!(c.ask("hi").await.last().unwrap()["type"], "stream_end");
    let (_, r) = api(&s, "POST", "/__pawmock/reset", Some(json!({"close": true}))).await;
    assert_eq!(r["closed"].as_array().unwrap().len(), 1, "{r}");
    assert!(matches!(c.until_closed().await.1, Ending::Closed(1012, _)));
}

#[tokio::test]
async fn bad_input_to_every_route_gets_a_json_error_and_changes_nothing() {
    let s = server(ServeConfig::default()).await;
    let mut c = s.connect("scenario=stream&run=bad").await;
    let id = conn_id(&s, "bad").await;
    let conn = |action: &str| format!("/__pawmock/connections/{id}/{action}");
    let cases: Vec<(&str, String, &str, u16, &str)> = vec![
        (
            "GET",
            "/__pawmock/connections?colour=red".into(),
            "",
            400,
            "unknown query parameter `colour`",
        ),
        (
            "GET",
            "/__pawmock/nowhere".into(),
            "",
            404,
            "no control route",
        ),
        (
            "PUT",
            "/__pawmock/journal".into(),
            "",
            405,
            "PUT is not answered",
        ),
        ("POST", conn("dance"), "", 404, "no action `dance`"),
        ("POST", conn("speed"), "{oops", 400, "not JSON"),
        (
            "POST",
            conn("speed"),
            r#"{"speed": "fast"}"#,
            400,
            "`speed` must be",
        ),
        ("POST", conn("fault"), r#""explode""#, 400, "explode"),
        ("POST", conn("fault"), "42", 400, "a fault cannot be 42"),
        ("POST", conn("send"), r#"{"shout": 1}"#, 400, "shout"),
        (
            "POST",
            conn("close"),
            r#"{"code": 1005}"#,
            400,
            "not a close code",
        ),
        (
            "POST",
            "/__pawmock/connections/c999/pause".into(),
            "",
            404,
            "no live connection",
        ),
        (
            "POST",
            "/__pawmock/wait".into(),
            r#"{"state": "asleep"}"#,
            400,
            "`asleep` is not a state",
        ),
        (
            "POST",
            "/__pawmock/wait".into(),
            r#"{"state": "idle", "timeout": "forever"}"#,
            400,
            "`timeout`",
        ),
        (
            "POST",
            "/__pawmock/wait".into(),
            r#"{"state": "idle", "timeout": "1h"}"#,
            400,
            "over 300s",
        ),
        ("POST", "/__pawmock/wait".into(), "[]", 400, "JSON object"),
        (
            "POST",
            "/__pawmock/connections/speed?run=bad".into(),
            r#"{"speed": -2}"#,
            400,
            "`speed` must be",
        ),
        (
            "POST",
            "/__pawmock/connections/pause?run=bad&x=1".into(),
            "",
            400,
            "unknown query parameter `x`",
        ),
        (
            "POST",
            conn("send"),
            r#"{"raw": "x", "say": "y"}"#,
            400,
            "`raw` goes alone",
        ),
        (
            "GET",
            "/__pawmock/journal?since=soon".into(),
            "",
            400,
            "?since=soon",
        ),
        (
            "POST",
            "/__pawmock/reset".into(),
            r#"{"close": "yes"}"#,
            400,
            "`close` must be",
        ),
        (
            "POST",
            "/__pawmock/reset".into(),
            r#"{"everything": true}"#,
            400,
            "unknown field",
        ),
    ];
    let before = journal(&s, "").await.len();
    for (method, path, body, status, contains) in cases {
        let (got, answer) = raw_api(&s, method, &path, body).await;
        assert_error(got, &answer, status, contains);
    }
    let big = "x".repeat(70 * 1024);
    let (got, answer) = raw_api(&s, "POST", &conn("send"), &big).await;
    assert_error(got, &answer, 413, "over 65536 bytes");
    // Nothing changed: no command reached the connection, the journal grew by nothing,
    // and the connection plays a turn as before.
    assert_eq!(journal(&s, "").await.len(), before);
    let (_, one) = api(&s, "GET", &format!("/__pawmock/connections/{id}"), None).await;
    assert_eq!(one["state"], "idle");
    let frames = c.ask("go").await;
    assert_eq!(frames.len(), 9);
}

#[tokio::test]
async fn a_token_is_required_when_set_and_no_admin_turns_the_api_off() {
    let s = server(ServeConfig {
        admin: Access::Token("s3cret".into()),
        ..Default::default()
    })
    .await;
    let (status, body) = api(&s, "GET", "/__pawmock/connections", None).await;
    assert_error(status, &body, 401, "admin token");
    let (status, body) = api_with(
        &s,
        "GET",
        "/__pawmock/connections",
        None,
        &[("Authorization", "Bearer wrong")],
    )
    .await;
    assert_error(status, &body, 401, "admin token");
    let (status, _) = api_with(
        &s,
        "GET",
        "/__pawmock/connections",
        None,
        &[("Authorization", "Bearer s3cret")],
    )
    .await;
    assert_eq!(status, 200);
    let off = server(ServeConfig {
        admin: Access::Off,
        ..Default::default()
    })
    .await;
    let (status, body) = api(&off, "GET", "/__pawmock/connections", None).await;
    assert_error(status, &body, 404, "control API is off");
    // The WebSocket is unaffected.
    let mut c = off.connect("scenario=stream&speed=0").await;
    assert_eq!(c.ask("go").await.len(), 9);
}

#[tokio::test]
async fn loopback_clients_may_use_the_api_by_default() {
    let s = server(ServeConfig::default()).await;
    let (status, list) = api(&s, "GET", "/__pawmock/connections", None).await;
    assert_eq!((status, list), (200, json!([])));
}

#[tokio::test]
async fn on_connect_steps_play_without_a_chat_message() {
    let s = server(ServeConfig::default()).await;
    let mut c = s.connect("scenario=pushes&dialect=docs&run=o").await;
    let first = c.next().await;
    let second = c.next().await;
    assert_eq!(
        (first["type"].as_str(), first["channel"].as_str()),
        (Some("inbox_update"), Some("telegram")),
        "{first}"
    );
    assert_eq!(
        (second["type"].as_str(), second["channel"].as_str()),
        (Some("inbox_update"), Some("slack")),
        "{second}"
    );
    assert!(
        c.silent_for(Duration::from_millis(300)).await,
        "no stream_end for pushes alone"
    );
    // Unpinned connections get nothing.
    let mut plain = s.connect("dialect=docs").await;
    assert!(plain.silent_for(Duration::from_millis(300)).await);
    let entries = journal(&s, "?run=o").await;
    assert!(
        entries
            .iter()
            .any(|e| e["kind"] == "turn_started" && e["trigger"] == "on_connect")
    );
    let _ = Client::connect;
}

#[tokio::test]
async fn a_corrupt_fault_now_malforms_the_turns_next_frame() {
    let s = server(ServeConfig::default()).await;
    let mut c = s.connect("scenario=stream&run=m").await;
    let id = conn_id(&s, "m").await;
    c.send(json!({"action": "message", "content": "go"})).await;
    assert_eq!(c.next().await["content"], "one ");
    let (status, r) = api(
        &s,
        "POST",
        &format!("/__pawmock/connections/{id}/fault"),
        Some(json!("corrupt")),
    )
    .await;
    assert_eq!((status, r["applied"].as_str()), (200, Some("now")), "{r}");
    let raw = match c.raw().await {
        Some(tokio_tungstenite::tungstenite::Message::Text(t)) => t.to_string(),
        other => panic!("{other:?}"),
    };
    assert!(
        serde_json::from_str::<Value>(&raw).is_err(),
        "not JSON: {raw}"
    );
    assert!(raw.starts_with("{\"type\":\"response_chunk\""), "{raw}");
    // Only that one: the rest of the turn is whole.
    let rest = c.until_stream_end().await;
    assert!(!rest.is_empty());
}

#[tokio::test]
async fn on_connect_steps_that_stream_an_answer_end_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("greet.json"),
        r#"{"on_connect": [{"say": "Welcome back!"}, {"marker": "greeted"}],
            "turns": [{"when": "any", "reply": [{"say": "ok"}]}]}"#,
    )
    .unwrap();
    let s = Server::start(
        dir.path(),
        ServeConfig {
            speed: pawmock::Speed::INSTANT,
            ..Default::default()
        },
    )
    .await;
    let mut c = s.connect("scenario=greet&dialect=docs").await;
    let frames = c.until_stream_end().await;
    assert_eq!(common::answer_text(&frames), "Welcome back!");
    // A freeze on an on_connect marker holds it too.
    let mut f = s
        .connect("scenario=greet&dialect=docs&freeze=greeted&run=g")
        .await;
    let (status, _) = api(
        &s,
        "POST",
        "/__pawmock/wait",
        Some(json!({"run": "g", "state": "frozen", "timeout": "5s"})),
    )
    .await;
    assert_eq!(status, 200);
    let _ = f.next().await;
}

#[test]
fn a_plan_in_on_connect_is_a_check_problem() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.json"),
        r#"{"on_connect": [{"plan": "p"}], "turns": [{"reply": [{"say": "x"}]}]}"#,
    )
    .unwrap();
    let out = common::failed_check(dir.path());
    assert!(
        out.contains("on_connect[0]: a `plan` waits for an answer"),
        "{out}"
    );
}

#[tokio::test]
async fn the_binary_logs_and_applies_the_access_rule() {
    let addr = |s: &common::LoggedServer| -> std::net::SocketAddr {
        let port = s
            .url
            .trim_start_matches("ws://localhost:")
            .trim_end_matches("/ws");
        format!("127.0.0.1:{port}").parse().unwrap()
    };
    let open = common::LoggedServer::start(&[]);
    open.line_with("control API on /__pawmock/ for loopback clients only");
    assert_eq!(
        http::get(addr(&open), "/__pawmock/connections", &[])
            .await
            .status,
        200
    );
    let token = common::LoggedServer::start(&["--admin-token", "t0k"]);
    token.line_with("--admin-token bearer token");
    let r = http::get(addr(&token), "/__pawmock/connections", &[]).await;
    assert_eq!(r.status, 401, "{}", r.text());
    let r = http::get(
        addr(&token),
        "/__pawmock/connections",
        &[("Authorization", "Bearer t0k")],
    )
    .await;
    assert_eq!(r.status, 200);
    let off = common::LoggedServer::start(&["--no-admin"]);
    off.line_with("control API off");
    assert_eq!(
        http::get(addr(&off), "/__pawmock/connections", &[])
            .await
            .status,
        404
    );
    let bad = assert_cmd::cargo::cargo_bin_cmd!("pawmock")
        .args(["--journal-size", "0"])
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8_lossy(&bad).contains("--journal-size"));
}

/// This machine's address on its outward interface (no packet is sent: a UDP "connect"
/// only picks the route), or `None` on a machine with loopback alone.
fn outward_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// A server on this machine's outward address, so requests come from a non-loopback peer.
async fn outward_server(ip: std::net::IpAddr, admin: Access) -> std::net::SocketAddr {
    let loaded = pawmock::Library::load(&dir()).unwrap();
    let app = pawmock::App::new(
        loaded.library,
        ServeConfig {
            admin,
            ..Default::default()
        },
    );
    let listener = pawmock::bind(&ip.to_string(), 0).await.unwrap();
    let addr = listener.local_addr().unwrap();
    pawmock::spawn(app, listener);
    addr
}

#[tokio::test]
async fn a_client_beyond_loopback_is_refused_without_a_token_and_let_in_with_one() {
    let Some(ip) = outward_address() else {
        eprintln!(
            "this machine has no address beyond loopback; the rule is unit-tested in control::auth"
        );
        return;
    };
    let addr = outward_server(ip, Access::Loopback).await;
    let r = http::get(addr, "/__pawmock/connections", &[]).await;
    let body = r.json();
    assert_error(r.status, &body, 403, "loopback clients only");
    // The WebSocket itself is not the control API: it still answers.
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    drop(ws);
    let addr = outward_server(ip, Access::Token("abc".into())).await;
    let r = http::get(
        addr,
        "/__pawmock/connections",
        &[("Authorization", "Bearer abc")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
}
