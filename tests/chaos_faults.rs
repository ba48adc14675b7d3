//! One test per fault kind, showing what the client observes. Faults are given inline in
//! the URL (`?fault=KIND:key=value…`), which exercises that syntax too.

mod common;

use std::time::{Duration, Instant};

use common::{Ending, Server, answer_text, types};
use serde_json::{Value, json};

/// The weather fixture at speed 0: thinking, tool_start, tool_result, 6 chunks, stream_end.
const WEATHER: &str = "dialect=docs&scenario=weather";

async fn frames(server: &Server, fault: &str) -> Vec<Value> {
    let mut c = server.connect(&format!("{WEATHER}&{fault}")).await;
    c.ask("weather").await
}

#[tokio::test]
async fn error_inserts_an_error_frame_and_can_end_the_turn() {
    let server = Server::fixtures().await;
    let f = frames(
        &server,
        "fault=error:message=Tool%20crashed:events=tool_result",
    )
    .await;
    assert_eq!(
        types(&f)[..4],
        ["thinking", "tool_start", "error", "tool_result"]
    );
    assert_eq!(f[2]["message"], "Tool crashed");
    assert_eq!(
        answer_text(&f),
        "It's **18°C** and cloudy in Paris.",
        "the turn goes on"
    );

    let f = frames(
        &server,
        "fault=error:message=boom:end_turn=true:events=text_chunk:at_step=2",
    )
    .await;
    assert_eq!(
        types(&f),
        [
            "thinking",
            "tool_start",
            "tool_result",
            "response_chunk",
            "error",
            "stream_end"
        ]
    );

    let mut c = server.connect(&format!("{WEATHER}&fault=error:message=boom:end_turn=true:stream_end=false:events=text_chunk:at_step=1")).await;
    c.send(json!({"action": "message", "content": "weather"}))
        .await;
    let mut seen = Vec::new();
    loop {
        let f = c.next().await;
        let done = f["type"] == "error";
        seen.push(f);
        if done {
            break;
        }
    }
    assert!(
        c.silent_for(Duration::from_millis(300)).await,
        "no stream_end after the error"
    );
}

#[tokio::test]
async fn drop_never_sends_the_event() {
    let server = Server::fixtures().await;
    let f = frames(&server, "fault=drop:events=tool_start").await;
    assert_eq!(types(&f)[..2], ["thinking", "tool_result"]);
    assert!(!types(&f).contains(&"tool_start".to_owned()));
}

#[tokio::test]
async fn duplicate_sends_the_event_twice() {
    let server = Server::fixtures().await;
    let f = frames(&server, "fault=duplicate:events=tool_result").await;
    assert_eq!(
        types(&f)[..4],
        ["thinking", "tool_start", "tool_result", "tool_result"]
    );
    assert_eq!(f[2], f[3]);
}

#[tokio::test]
async fn reorder_swaps_the_event_with_the_next_one() {
    let server = Server::fixtures().await;
    let f = frames(&server, "fault=reorder:events=thinking").await;
    assert_eq!(types(&f)[..3], ["tool_start", "thinking", "tool_result"]);
}

#[tokio::test]
async fn corrupt_sends_a_text_frame_that_is_not_json() {
    let server = Server::fixtures().await;
    let mut c = server
        .connect(&format!("{WEATHER}&fault=corrupt:events=tool_start"))
        .await;
    c.send(json!({"action": "message", "content": "weather"}))
        .await;
    let mut texts = Vec::new();
    loop {
        let Some(tokio_tungstenite::tungstenite::Message::Text(t)) = c.raw().await else {
            panic!("text expected")
        };
        let end = t.contains("stream_end");
        texts.push(t.to_string());
        if end {
            break;
        }
    }
    assert!(
        serde_json::from_str::<Value>(&texts[1]).is_err(),
        "{}",
        texts[1]
    );
    assert!(
        texts[1].starts_with(r#"{"type":"tool_start""#),
        "{}",
        texts[1]
    );
    assert!(
        texts
            .iter()
            .enumerate()
            .all(|(i, t)| i == 1 || serde_json::from_str::<Value>(t).is_ok())
    );
}

#[tokio::test]
async fn latency_delays_the_event_even_at_speed_zero() {
    let server = Server::fixtures().await;
    let started = Instant::now();
    let f = frames(&server, "fault=latency:delay=400ms:events=tool_result").await;
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(answer_text(&f), "It's **18°C** and cloudy in Paris.");
}

#[tokio::test]
async fn latency_from_a_distribution_delays_by_at_least_its_minimum() {
    let server = Server::fixtures().await;
    let started = Instant::now();
    frames(
        &server,
        "fault=latency:distribution=uniform:min=200ms:max=300ms:events=stream_end",
    )
    .await;
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(200), "{took:?}");
}

#[tokio::test]
async fn slice_splits_a_chunk_into_smaller_ones() {
    let server = Server::fixtures().await;
    let f = frames(
        &server,
        "fault=slice:pieces=3:interval=10ms:events=text_chunk:at_step=2",
    )
    .await;
    // "**18°C** " (9 characters) becomes 3 chunks of 3.
    let chunks: Vec<&str> = f
        .iter()
        .filter(|x| x["type"] == "response_chunk")
        .map(|x| x["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        chunks,
        [
            "It's ", "**1", "8°C", "** ", "and ", "cloudy ", "in ", "Paris."
        ]
    );
    assert_eq!(answer_text(&f), "It's **18°C** and cloudy in Paris.");
}

#[tokio::test]
async fn stall_for_a_while_then_goes_on_and_stall_for_good_never_ends() {
    let server = Server::fixtures().await;
    let started = Instant::now();
    let f = frames(
        &server,
        "fault=stall:duration=300ms:events=text_chunk:at_step=3",
    )
    .await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(answer_text(&f), "It's **18°C** and cloudy in Paris.");

    let mut c = server
        .connect(&format!(
            "{WEATHER}&fault=stall:events=text_chunk:after_step=2"
        ))
        .await;
    c.send(json!({"action": "message", "content": "weather"}))
        .await;
    for expected in [
        "thinking",
        "tool_start",
        "tool_result",
        "response_chunk",
        "response_chunk",
    ] {
        assert_eq!(c.next().await["type"], expected);
    }
    assert!(
        c.silent_for(Duration::from_millis(400)).await,
        "stalled: no more chunks, no stream_end"
    );
    // The socket is still open and answers.
    c.send(json!({"action": "switch_session", "session_id": "s"}))
        .await;
    assert_eq!(c.next().await["type"], "session_switched");
}

#[tokio::test]
async fn fragment_sends_a_message_the_client_reassembles() {
    let server = Server::fixtures().await;
    let f = frames(&server, "fault=fragment:pieces=4:events=tool_result").await;
    assert_eq!(
        f[2],
        json!({"type": "tool_result", "tool": "web_search", "result": "Paris: 18°C, cloudy", "session_id": f[2]["session_id"]})
    );
}

#[tokio::test]
async fn close_sends_the_chosen_code_and_reason() {
    let server = Server::fixtures().await;
    for (code, reason) in [
        (1000, "bye"),
        (1001, "going%20away"),
        (1011, "Internal%20error"),
        (4003, "Unauthorized"),
        (4029, "Too%20many%20connections"),
    ] {
        let mut c = server
            .connect(&format!(
                "{WEATHER}&fault=close:code={code}:reason={reason}:events=tool_start"
            ))
            .await;
        c.send(json!({"action": "message", "content": "weather"}))
            .await;
        let (texts, ending) = c.until_closed().await;
        assert_eq!(texts.len(), 1, "only the thinking frame came first");
        assert_eq!(ending, Ending::Closed(code, reason.replace("%20", " ")));
    }
}

#[tokio::test]
async fn abort_drops_the_connection_without_a_close_frame() {
    let server = Server::fixtures().await;
    let mut c = server
        .connect(&format!(
            "{WEATHER}&fault=abort:events=text_chunk:after_step=2"
        ))
        .await;
    c.send(json!({"action": "message", "content": "weather"}))
        .await;
    let (texts, ending) = c.until_closed().await;
    assert_eq!(ending, Ending::Abnormal, "a browser reports this as 1006");
    assert_eq!(texts.len(), 5);
}

#[tokio::test]
async fn reject_refuses_the_handshake_with_an_http_status() {
    let server = Server::fixtures().await;
    for status in [403, 429, 500, 503] {
        let refused = common::handshake_status(
            &server.url(&format!("fault=reject:status={status}:body=nope")),
        )
        .await;
        assert_eq!(refused, Some((status, "nope\n".to_owned())));
    }
}

#[tokio::test]
async fn refuse_first_refuses_n_attempts_then_accepts() {
    let server = Server::fixtures().await;
    let url = server.url("scenario=weather&fault=refuse_first:count=2:status=503");
    assert_eq!(common::handshake_status(&url).await.map(|s| s.0), Some(503));
    assert_eq!(common::handshake_status(&url).await.map(|s| s.0), Some(503));
    assert_eq!(
        common::handshake_status(&url).await,
        None,
        "the third attempt is accepted"
    );
    assert_eq!(
        common::handshake_status(&url).await,
        None,
        "and so are later ones"
    );
    // Another URL counts its own attempts.
    let other = format!("{url}&seed=2");
    assert_eq!(
        common::handshake_status(&other).await.map(|s| s.0),
        Some(503)
    );
}

#[tokio::test]
async fn a_new_run_label_counts_attempts_afresh_and_replays_the_same_faults() {
    let server = Server::fixtures().await;
    let base = "dialect=docs&scenario=weather&seed=4&fault=refuse_first:count=1&fault=drop:events=text_chunk:probability=0.5";
    let mut seen = Vec::new();
    for run in ["story-1", "story-2"] {
        let url = server.url(&format!("{base}&run={run}"));
        assert_eq!(
            common::handshake_status(&url).await.map(|s| s.0),
            Some(503),
            "the first attempt of run {run} is refused"
        );
        let mut c = common::Client::connect(&url).await;
        let mut frames = c.ask("weather").await;
        // Each connection gets a fresh session id; the faults are what is compared.
        frames.iter_mut().for_each(|f| {
            f.as_object_mut().unwrap().remove("session_id");
        });
        seen.push(frames);
    }
    assert_eq!(seen[0], seen[1], "the run label does not change the faults");
    let mut plain = server
        .connect("dialect=docs&scenario=weather&seed=4&run=x")
        .await;
    assert_ne!(
        plain.ask("weather").await.len(),
        seen[0].len(),
        "the drops did act"
    );
}

#[tokio::test]
async fn speed_does_not_shorten_the_delays_faults_add() {
    let server = Server::instant(&common::fixtures()).await;
    let started = Instant::now();
    let f = frames(
        &server,
        "speed=0&fault=latency:delay=300ms:events=tool_result",
    )
    .await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(f.len() > 5);
}

/// Reads one WebSocket frame sent by the server (unmasked): (FIN, opcode, payload).
async fn read_frame(s: &mut tokio::net::TcpStream) -> (bool, u8, Vec<u8>) {
    use tokio::io::AsyncReadExt;
    let mut head = [0u8; 2];
    s.read_exact(&mut head).await.unwrap();
    let len = match head[1] & 0x7f {
        126 => {
            let mut ext = [0u8; 2];
            s.read_exact(&mut ext).await.unwrap();
            u64::from(u16::from_be_bytes(ext))
        }
        127 => {
            let mut ext = [0u8; 8];
            s.read_exact(&mut ext).await.unwrap();
            u64::from_be_bytes(ext)
        }
        n => u64::from(n),
    };
    let mut payload = vec![0u8; len as usize];
    s.read_exact(&mut payload).await.unwrap();
    (head[0] & 0x80 != 0, head[0] & 0x0f, payload)
}

#[tokio::test]
async fn fragment_really_sends_continuation_frames_on_the_wire() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = Server::fixtures().await;
    let mut s = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    s.write_all(
        b"GET /ws?dialect=docs&scenario=weather&fault=fragment:pieces=4:events=tool_result HTTP/1.1\r\n\
          Host: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    let mut response = Vec::new();
    while !response.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        s.read_exact(&mut byte).await.unwrap();
        response.push(byte[0]);
    }
    assert!(response.starts_with(b"HTTP/1.1 101"));
    // A client frame must be masked; a zero mask leaves the payload as it is.
    let chat = br#"{"action":"message","content":"weather"}"#;
    let mut frame = vec![0x81, 0x80 | chat.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(chat);
    s.write_all(&frame).await.unwrap();
    let mut frames = Vec::new();
    loop {
        let f = tokio::time::timeout(common::PATIENCE, read_frame(&mut s))
            .await
            .expect("a frame in time");
        let end = String::from_utf8_lossy(&f.2).contains("stream_end");
        frames.push(f);
        if end {
            break;
        }
    }
    // thinking, tool_start, then the tool_result in 4 frames: text without FIN, 2
    // continuations without FIN, a continuation with FIN.
    let shape: Vec<(bool, u8)> = frames.iter().map(|(fin, op, _)| (*fin, *op)).collect();
    assert_eq!(
        shape[2..6],
        [(false, 1), (false, 0), (false, 0), (true, 0)],
        "{shape:?}"
    );
    let joined: Vec<u8> = frames[2..6].iter().flat_map(|f| f.2.clone()).collect();
    let message: Value = serde_json::from_slice(&joined).unwrap();
    assert_eq!(message["type"], "tool_result");
}
