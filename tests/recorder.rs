//! `pawmock record` as users see it: a real pawmock is the upstream, the recorder sits
//! in front on its own loopback port, a real WebSocket client plays a conversation
//! through it, and the recording is replayed by `serve`.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Client, Ending, PATIENCE, Server, http};
use pawmock::DialectChoice;
use pawmock::ServeConfig;
use pawmock::{Recorder, Redactor, Upstream};
use serde_json::{Value, json};

/// How far a replayed frame's arrival may be from the recorded one's (both measured
/// from the client's message). Generous: the machine running tests is shared and busy
/// (a load average of 16 on 2 cores has made a replay half a second late). The whole
/// answer's length is checked too (within -25 % / +75 %), which catches a replay at
/// another speed.
const TOLERANCE: Duration = Duration::from_millis(1000);

async fn recorder(upstream: SocketAddr, out: &Path, rules: &[&str]) -> SocketAddr {
    let rules: Vec<String> = rules.iter().map(|r| (*r).to_owned()).collect();
    let r = Recorder::new(
        Upstream::parse(&format!("ws://{upstream}/ws")).unwrap(),
        out.to_owned(),
        Redactor::with_rules(&rules).unwrap(),
    );
    let listener = pawmock::bind("127.0.0.1", 0).await.unwrap();
    let addr = listener.local_addr().unwrap();
    pawmock::spawn_recorder(r, listener);
    addr
}

/// The recordings in `dir`, once each holds at least `closes` close lines.
async fn recordings(dir: &Path, closes: usize) -> Vec<(PathBuf, String)> {
    let started = Instant::now();
    loop {
        let mut found: Vec<(PathBuf, String)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .map(|p| {
                let text = std::fs::read_to_string(&p).unwrap();
                (p, text)
            })
            .collect();
        found.sort();
        if !found.is_empty()
            && found
                .iter()
                .all(|(_, t)| t.matches(r#","close","#).count() >= closes)
        {
            return found;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "no complete recording in {}: {found:?}",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Frames up to `stream_end`, each with its arrival time since `from`.
async fn timed_until_stream_end(c: &mut Client, from: Instant) -> Vec<(Duration, Value)> {
    let mut out = Vec::new();
    loop {
        let f = c.next().await;
        let end = f["type"] == "stream_end";
        out.push((from.elapsed(), f));
        if end {
            return out;
        }
    }
}

/// A frame without the parts that differ from one connection to the next.
fn comparable(frame: &Value) -> Value {
    let mut f = frame.clone();
    if let Some(map) = f.as_object_mut() {
        map.remove("session_id");
    }
    f
}

fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

/// Asserts that the replay gave the same frames in the same order, each within the
/// tolerance of its recorded arrival.
fn assert_same_conversation(recorded: &[(Duration, Value)], replayed: &[(Duration, Value)]) {
    let frames = |v: &[(Duration, Value)]| v.iter().map(|(_, f)| comparable(f)).collect::<Vec<_>>();
    assert_eq!(frames(recorded), frames(replayed));
    let (last_recorded, last_replayed) = (
        recorded.last().unwrap().0.as_secs_f64(),
        replayed.last().unwrap().0.as_secs_f64(),
    );
    let ratio = last_replayed / last_recorded;
    assert!(
        (0.75..=1.75).contains(&ratio),
        "the answer took {last_recorded:.3}s through the recorder and {last_replayed:.3}s in the replay"
    );
    for ((a, f), (b, _)) in recorded.iter().zip(replayed) {
        let gap = if a > b { *a - *b } else { *b - *a };
        assert!(
            gap <= TOLERANCE,
            "{f} arrived at {a:?} through the recorder and at {b:?} in the replay"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_docs_conversation_replays_with_the_same_frames_and_timing() {
    let upstream = Server::start(&common::bundled(), ServeConfig::default()).await;
    let out = tempfile::tempdir().unwrap();
    let proxy = recorder(upstream.addr, out.path(), &[]).await;
    // pawmock's own parameters (`speed`) are not forwarded: the upstream plays at pace.
    let mut c = Client::connect(&format!("ws://{proxy}/ws?speed=0")).await;
    let sent = Instant::now();
    c.send(json!({"action": "message", "content": "hello"}))
        .await;
    let recorded = timed_until_stream_end(&mut c, sent).await;
    assert!(recorded.len() > 5, "{recorded:?}");
    assert!(
        recorded.last().unwrap().0 > Duration::from_millis(500),
        "the upstream played at its own pace, not at ?speed=0"
    );
    c.ws.close(None).await.unwrap();
    let files = recordings(out.path(), 2).await;
    assert_eq!(files.len(), 1);
    let (path, text) = &files[0];
    assert!(
        text.contains(r#""in",{"action":"message","content":"hello"}"#),
        "{text}"
    );

    let replay = Server::start(out.path(), ServeConfig::default()).await;
    let mut c = replay.connect(&format!("scenario={}", stem(path))).await;
    let sent = Instant::now();
    c.send(json!({"action": "message", "content": "hello"}))
        .await;
    let replayed = timed_until_stream_end(&mut c, sent).await;
    assert_same_conversation(&recorded, &replayed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_dashboard_conversation_replays_and_rest_calls_go_through() {
    let upstream = Server::start(
        &common::bundled(),
        ServeConfig {
            dialect: DialectChoice::Dashboard,
            ..ServeConfig::default()
        },
    )
    .await;
    let out = tempfile::tempdir().unwrap();
    let proxy = recorder(upstream.addr, out.path(), &[]).await;
    let mut c = Client::connect(&format!("ws://{proxy}/ws")).await;
    let info = c.next().await;
    assert_eq!(info["type"], "connection_info");
    let session = info["id"].as_str().unwrap().to_owned();
    let sent = Instant::now();
    c.send(json!({"action": "chat", "message": "hello"})).await;
    let recorded = timed_until_stream_end(&mut c, sent).await;
    assert_eq!(recorded[0].1["type"], "stream_start");

    // REST through the recorder reaches the same backend: the session just used is
    // listed, a POST body arrives, and the answers are the upstream's own.
    let title = http::request(
        proxy,
        "POST",
        &format!("/api/sessions/{session}/title"),
        &[("content-type", "application/json")],
        br#"{"title":"Recorded through pawmock"}"#,
    )
    .await;
    assert_eq!(title.status, 200, "{}", title.text());
    let through = http::get_json(proxy, "/api/sessions", 200).await;
    let direct = http::get_json(upstream.addr, "/api/sessions", 200).await;
    assert_eq!(through, direct);
    assert!(
        through.to_string().contains("Recorded through pawmock"),
        "{through}"
    );
    let missing = http::get(proxy, "/api/nope", &[]).await;
    assert_eq!(missing.status, 404, "the upstream's own 404 comes back");

    c.ws.close(None).await.unwrap();
    let files = recordings(out.path(), 2).await;
    let (path, text) = &files[0];
    assert!(
        text.contains(r#""type":"connection_info""#),
        "the greeting is recorded too"
    );

    let replay = Server::start(out.path(), ServeConfig::default()).await;
    let mut c = replay
        .connect(&format!("scenario={}&dialect=dashboard", stem(path)))
        .await;
    assert_eq!(c.next().await["type"], "connection_info");
    let sent = Instant::now();
    c.send(json!({"action": "chat", "message": "hello"})).await;
    let replayed = timed_until_stream_end(&mut c, sent).await;
    assert_same_conversation(&recorded, &replayed);
}

#[tokio::test]
async fn secrets_never_reach_the_recording() {
    let upstream = Server::instant(&common::bundled()).await;
    let out = tempfile::tempdir().unwrap();
    let proxy = recorder(upstream.addr, out.path(), &["$..email", r"\b4111-\d{4}\b"]).await;
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{proxy}/ws?token=QUERYSECRET123&resume_session=s1"
        ))
        .unwrap();
    let headers = request.headers_mut();
    headers.insert("authorization", "Bearer HEADERSECRET456".parse().unwrap());
    headers.insert("cookie", "session=COOKIESECRET789".parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let mut c = Client { ws };
    c.next().await; // session_switched for resume_session
    c.send(json!({
        "action": "message",
        "content": "my key is sk-ant-api03-PLANTEDSECRETKEY0123456789 and Bearer FRAMEBEARERTOKEN1",
        "email": "someone@example.test",
        "card": "4111-1234",
        "api_key": "PLAINKEYVALUE",
    }))
    .await;
    c.until_stream_end().await;
    c.ws.close(None).await.unwrap();
    let files = recordings(out.path(), 2).await;
    let all: String = files.iter().map(|(_, t)| t.as_str()).collect();
    for secret in [
        "QUERYSECRET123",
        "HEADERSECRET456",
        "COOKIESECRET789",
        "PLANTEDSECRETKEY",
        "FRAMEBEARERTOKEN1",
        "someone@example.test",
        "4111-1234",
        "PLAINKEYVALUE",
    ] {
        assert!(!all.contains(secret), "`{secret}` was recorded:\n{all}");
    }
    assert!(all.contains("[redacted]"), "{all}");
    // What is not secret stays: the rest of the message, the backend's parameter.
    assert!(
        all.contains("my key is [redacted] and Bearer [redacted]"),
        "{all}"
    );
    assert!(all.contains("resume_session=s1"), "{all}");
}

#[tokio::test]
async fn an_upstream_that_is_down_gives_the_client_a_502_naming_it() {
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = gone.local_addr().unwrap();
    drop(gone);
    let out = tempfile::tempdir().unwrap();
    let proxy = recorder(dead, out.path(), &[]).await;
    let (status, body) = common::handshake_status(&format!("ws://{proxy}/ws"))
        .await
        .expect("refused");
    assert_eq!(status, 502);
    assert!(body.contains(&format!("ws://{dead}/ws")), "{body}");
    assert!(body.to_lowercase().contains("refused"), "{body}");
    let page = http::get(proxy, "/", &[]).await;
    assert_eq!(page.status, 502);
    assert!(
        page.text().contains(&format!("http://{dead}")),
        "{}",
        page.text()
    );
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "nothing recorded"
    );
}

#[tokio::test]
async fn an_upstream_that_refuses_the_handshake_gives_the_client_its_status() {
    let upstream = Server::start(
        &common::bundled(),
        ServeConfig {
            chaos: vec!["handshake-403".into()],
            ..ServeConfig::default()
        },
    )
    .await;
    let out = tempfile::tempdir().unwrap();
    let proxy = recorder(upstream.addr, out.path(), &[]).await;
    let (status, body) = common::handshake_status(&format!("ws://{proxy}/ws"))
        .await
        .expect("refused");
    assert_eq!((status, body.trim()), (403, "Forbidden"));
}

#[tokio::test]
async fn an_upstream_that_drops_the_connection_drops_the_client_too_and_the_drop_is_recorded() {
    let upstream = Server::start(
        &common::bundled(),
        ServeConfig {
            speed: pawmock::Speed::INSTANT,
            chaos: vec!["disconnect-mid-stream".into()],
            ..ServeConfig::default()
        },
    )
    .await;
    let out = tempfile::tempdir().unwrap();
    let proxy = recorder(upstream.addr, out.path(), &[]).await;
    let mut c = Client::connect(&format!("ws://{proxy}/ws")).await;
    c.send(json!({"action": "message", "content": "hello"}))
        .await;
    let (texts, ending) = c.until_closed().await;
    assert_eq!(
        ending,
        Ending::Abnormal,
        "no close frame, as from the upstream"
    );
    assert!(!texts.is_empty());
    let files = recordings(out.path(), 1).await;
    let text = &files[0].1;
    assert!(
        text.lines()
            .last()
            .unwrap()
            .contains(r#""close",{"from":"server","code":1006"#),
        "{text}"
    );
    // The recording still loads: the turn that was cut short replays what was sent.
    let loaded = pawmock::Library::load(out.path()).unwrap();
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
}

#[tokio::test]
async fn a_connection_in_which_the_client_sent_nothing_leaves_no_recording() {
    let upstream = Server::instant(&common::bundled()).await;
    let out = tempfile::tempdir().unwrap();
    let proxy = recorder(upstream.addr, out.path(), &[]).await;
    let mut c = Client::connect(&format!("ws://{proxy}/ws")).await;
    let count = || std::fs::read_dir(out.path()).unwrap().count();
    assert_eq!(
        count(),
        1,
        "the recording exists while the connection is open"
    );
    c.ws.close(None).await.unwrap();
    let started = Instant::now();
    while count() > 0 {
        assert!(started.elapsed() < PATIENCE, "the empty recording was kept");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn binary_frames_pings_and_close_codes_pass_through_unchanged() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let upstream = Server::instant(&common::bundled()).await;
    let out = tempfile::tempdir().unwrap();
    let proxy = recorder(upstream.addr, out.path(), &[]).await;
    let mut c = Client::connect(&format!("ws://{proxy}/ws")).await;
    // pawmock (the upstream) answers a binary frame with an error naming its size.
    c.ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    let error = c.next().await;
    assert!(
        error.to_string().contains("(3 bytes ignored)"),
        "the binary frame reached the upstream whole: {error}"
    );
    c.ws.send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Some(Ok(Message::Pong(p))) = c.ws.next().await {
                return p;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(pong.as_ref(), b"are you there");
    c.ws.close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
        code: 4001u16.into(),
        reason: "done here".into(),
    }))
    .await
    .unwrap();
    let files = recordings(out.path(), 2).await;
    let text = &files[0].1;
    assert!(text.contains(r#""in_binary","AQID"]"#), "{text}");
    assert!(
        text.contains(r#""close",{"from":"client","code":4001,"reason":"done here"}"#),
        "{text}"
    );
    // The upstream answered the close with the same code, through the recorder.
    assert!(
        text.contains(r#""close",{"from":"server","code":4001"#),
        "{text}"
    );

    // A close the upstream starts reaches the client with its code and reason.
    let closing = Server::start(
        &common::bundled(),
        ServeConfig {
            chaos: vec!["rate-limited".into()],
            ..ServeConfig::default()
        },
    )
    .await;
    let proxy = recorder(closing.addr, out.path(), &[]).await;
    let mut c = Client::connect(&format!("ws://{proxy}/ws")).await;
    let (_, ending) = c.until_closed().await;
    assert_eq!(ending, Ending::Closed(4029, "Too many connections".into()));
}

#[tokio::test]
async fn shutting_the_recorder_down_closes_both_sides_with_1001() {
    let upstream = Server::instant(&common::bundled()).await;
    let out = tempfile::tempdir().unwrap();
    let r = Recorder::new(
        Upstream::parse(&format!("ws://{}/ws", upstream.addr)).unwrap(),
        out.path().to_owned(),
        Redactor::default(),
    );
    let listener = pawmock::bind("127.0.0.1", 0).await.unwrap();
    let proxy = listener.local_addr().unwrap();
    let running = pawmock::spawn_recorder(r.clone(), listener);
    let mut c = Client::connect(&format!("ws://{proxy}/ws")).await;
    c.ask("hello").await;
    r.shutdown.cancel();
    let (_, ending) = c.until_closed().await;
    assert_eq!(
        ending,
        Ending::Closed(1001, "pawmock record is shutting down".into())
    );
    tokio::time::timeout(PATIENCE, running)
        .await
        .unwrap()
        .unwrap();
    let files = recordings(out.path(), 1).await;
    assert!(
        files[0]
            .1
            .contains(r#""close",{"from":"server","code":1001"#),
        "the upstream's answer to the 1001 is recorded: {}",
        files[0].1
    );
}
