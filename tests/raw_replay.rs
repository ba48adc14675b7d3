//! Replaying a recording of a protocol pawmock does not know (`raw`): frames go out
//! exactly as recorded, each matching client frame starts what followed it, and the
//! faults that need no understanding of frames apply.

mod common;

use std::time::{Duration, Instant};

use common::{Client, Ending, Server};
use tokio_tungstenite::tungstenite::Message;

/// A made-up streaming protocol: a text greeting, JSON requests with ids that change
/// from run to run, token frames, a binary frame, and a server close.
const RECORDING: &str = r#"{"version": 1, "title": "A made-up streaming protocol", "match": {"ignore": ["$.id"]}}
# the server greets first
[0.05, "out", "HELLO v1"]
[3.0, "in", {"op": "ask", "id": 1, "q": "weather?"}]
[0.1, "out", {"op":"token","t":"Sunny"}]
[0.1, "out", {"op":"token","t":" and"}]
[0.1, "out", {"op":"token","t":" warm"}]
[0.05, "out_binary", "AAEC"]
[0.05, "out", {"op":"done"}]
[1.0, "in", "BYE"]
[0.02, "close", {"from": "server", "code": 4000, "reason": "bye"}]
"#;

const ASK: &str = r#"{"q": "weather?", "op": "ask", "id": 77}"#;

async fn server() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("made-up.jsonl"), RECORDING).unwrap();
    let server = Server::start(dir.path(), pawmock::ServeConfig::default()).await;
    (dir, server)
}

/// A message as comparable text: text as is, binary as `bin:` + its bytes.
fn show(m: &Message) -> String {
    match m {
        Message::Text(t) => t.to_string(),
        Message::Binary(b) => format!("bin:{:?}", b.as_ref()),
        other => format!("{other:?}"),
    }
}

/// The next `n` data messages, each with its arrival time since `from`.
async fn take(c: &mut Client, n: usize, from: Instant) -> Vec<(Duration, String)> {
    let mut out = Vec::new();
    while out.len() < n {
        let m = c.raw().await.expect("connection open");
        if matches!(m, Message::Text(_) | Message::Binary(_)) {
            out.push((from.elapsed(), show(&m)));
        }
    }
    out
}

fn texts(frames: &[(Duration, String)]) -> Vec<&str> {
    frames.iter().map(|(_, t)| t.as_str()).collect()
}

const REPLY: [&str; 5] = [
    r#"{"op":"token","t":"Sunny"}"#,
    r#"{"op":"token","t":" and"}"#,
    r#"{"op":"token","t":" warm"}"#,
    "bin:[0, 1, 2]",
    r#"{"op":"done"}"#,
];

#[tokio::test]
async fn a_raw_recording_replays_verbatim_with_its_timing_and_its_close() {
    let (_dir, server) = server().await;
    let connected = Instant::now();
    let mut c = server.connect("scenario=made-up").await;
    let greeting = take(&mut c, 1, connected).await;
    assert_eq!(texts(&greeting), ["HELLO v1"]);
    // The id differs and the keys are in another order: `match.ignore` and JSON
    // comparison make it the recorded request.
    c.send_text(ASK).await;
    let sent = Instant::now();
    let reply = take(&mut c, 5, sent).await;
    assert_eq!(texts(&reply), REPLY);
    // Never early; late by at most 750 ms (a shared, loaded machine).
    let expected = [100, 200, 300, 350, 400];
    for ((at, frame), ms) in reply.iter().zip(expected) {
        let want = Duration::from_millis(ms);
        assert!(
            *at + Duration::from_millis(20) >= want && *at <= want + Duration::from_millis(750),
            "{frame} at {at:?}, recorded at {want:?}"
        );
    }
    c.send_text("BYE").await;
    let (rest, ending) = c.until_closed().await;
    assert!(rest.is_empty(), "{rest:?}");
    assert_eq!(ending, Ending::Closed(4000, "bye".into()));
}

#[tokio::test]
async fn a_frame_that_matches_nothing_gets_nothing_and_the_conversation_goes_on() {
    let (_dir, server) = server().await;
    let mut c = server.connect("scenario=made-up&speed=0").await;
    take(&mut c, 1, Instant::now()).await;
    c.send_text(r#"{"op": "ask", "id": 1, "q": "something else"}"#)
        .await;
    assert!(c.silent_for(Duration::from_millis(300)).await);
    c.send_text(ASK).await;
    assert_eq!(texts(&take(&mut c, 5, Instant::now()).await), REPLY);
}

/// The reply to [`ASK`] on `?scenario=made-up&speed=0&{query}`, and how the
/// connection ended if it did.
async fn reply_with(query: &str) -> (Vec<String>, Option<Ending>) {
    let (got, ending, _) = timed_reply_with(query).await;
    (got, ending)
}

/// [`reply_with`], and when the first frame of the reply arrived after the request.
async fn timed_reply_with(query: &str) -> (Vec<String>, Option<Ending>, Option<Duration>) {
    let (_dir, server) = server().await;
    let mut c = server
        .connect(&format!("scenario=made-up&speed=0&{query}"))
        .await;
    take(&mut c, 1, Instant::now()).await;
    c.send_text(ASK).await;
    let sent = Instant::now();
    let mut first = None;
    let mut got = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_millis(500), c.raw()).await {
            Err(_) => return (got, None, first),
            Ok(None) => return (got, Some(Ending::Abnormal), first),
            Ok(Some(Message::Close(f))) => {
                let f = f.unwrap();
                let ending = Ending::Closed(u16::from(f.code), f.reason.to_string());
                return (got, Some(ending), first);
            }
            Ok(Some(m @ (Message::Text(_) | Message::Binary(_)))) => {
                first.get_or_insert_with(|| sent.elapsed());
                got.push(show(&m));
            }
            Ok(Some(_)) => {}
        }
    }
}

#[tokio::test]
async fn message_level_faults_apply_to_raw_frames() {
    let reply: Vec<String> = REPLY.iter().map(|s| (*s).to_owned()).collect();
    let with = |edit: &dyn Fn(&mut Vec<String>)| {
        let mut r = reply.clone();
        edit(&mut r);
        r
    };
    let cases: Vec<(&str, Vec<String>, Option<Ending>)> = vec![
        (
            "fault=drop:at_step=2",
            with(&|r| {
                r.remove(1);
            }),
            None,
        ),
        (
            "fault=duplicate:at_step=1",
            with(&|r| r.insert(0, r[0].clone())),
            None,
        ),
        ("fault=reorder:at_step=1", with(&|r| r.swap(0, 1)), None),
        (
            "fault=corrupt:at_step=1",
            with(&|r| r[0] = r#"{"op":"token""#.to_owned()),
            None,
        ),
        (
            "fault=slice:pieces=2:interval=0s:at_step=3",
            with(&|r| {
                r.splice(
                    2..3,
                    [r#"{"op":"token""#.to_owned(), r#","t":" warm"}"#.to_owned()],
                );
            }),
            None,
        ),
        (
            "fault=close:code=4001:reason=chaos:at_step=3",
            with(&|r| r.truncate(2)),
            Some(Ending::Closed(4001, "chaos".into())),
        ),
        (
            "fault=abort:at_step=2",
            with(&|r| r.truncate(1)),
            Some(Ending::Abnormal),
        ),
        // A stall for good: the reply stops, the socket stays open.
        ("fault=stall:at_step=4", with(&|r| r.truncate(3)), None),
    ];
    for (query, expected, ending) in cases {
        let (got, ended) = reply_with(query).await;
        assert_eq!(got, expected, "{query}");
        assert_eq!(ended, ending, "{query}");
    }
}

#[tokio::test]
async fn delay_faults_hold_frames_back_even_at_speed_0() {
    let (got, _, first) = timed_reply_with("").await;
    assert_eq!(got, REPLY);
    assert!(first.unwrap() < Duration::from_millis(300), "{first:?}");
    let (got, _, first) = timed_reply_with("fault=latency:delay=400ms:at_step=1").await;
    assert_eq!(got, REPLY);
    assert!(first.unwrap() >= Duration::from_millis(400), "{first:?}");
}

#[tokio::test]
async fn fragmented_raw_frames_reach_the_client_whole() {
    let (got, _) = reply_with("fault=fragment:pieces=3").await;
    assert_eq!(got, REPLY, "fragments are reassembled by the client");
}

#[tokio::test]
async fn close_and_abort_timed_from_connect_apply_to_raw_connections() {
    let (_dir, server) = server().await;
    let mut c = server
        .connect("scenario=made-up&fault=close:code=4003:reason=Unauthorized:after=0s:from=connect")
        .await;
    let (texts, ending) = c.until_closed().await;
    assert!(texts.is_empty(), "closed before the greeting: {texts:?}");
    assert_eq!(ending, Ending::Closed(4003, "Unauthorized".into()));

    let mut c = server
        .connect("scenario=made-up&fault=abort:after=300ms:from=connect")
        .await;
    let (texts, ending) = c.until_closed().await;
    assert_eq!(texts, ["HELLO v1"]);
    assert_eq!(ending, Ending::Abnormal);
}

/// A raw connection keeps the id its handshake was given (the one the journal's
/// handshake entry names): it does not draw a second one, so the next connection's id
/// follows on.
#[tokio::test]
async fn a_raw_connection_keeps_its_handshake_id() {
    let (_dir, server) = server().await;
    let mut raw = server.connect("scenario=made-up&speed=0").await;
    raw.send_text("hello?").await;
    let mut next = server.connect("dialect=dashboard").await;
    next.next().await;
    let listed = common::http::get_json(server.addr, "/__pawmock/connections", 200).await;
    let ids: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        ids.contains(&"c2".to_owned()),
        "the second connection is c2: {ids:?}"
    );
}
